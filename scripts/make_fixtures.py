#!/usr/bin/env python3
"""Reference forward-pass fixtures for kiln, computed by real Keras 3 / TensorFlow.

Regenerate (from the repository root) with:

    pip install -r scripts/requirements-fixtures.txt
    python scripts/make_fixtures.py          # writes tests/fixtures/

Generated with (pinned in scripts/requirements-fixtures.txt):

    keras          3.15.1
    tensorflow-cpu 2.21.0   (Keras backend: tensorflow)
    numpy          2.4.6
    safetensors    0.8.0

Every model is a fresh `keras.Sequential` (after `keras.backend.clear_session()`, so Keras's
automatic layer names restart at `dense`, `conv2d`, ... for each model). All weights are set to
seeded random values (`np.random.default_rng(seed)`: kernels normal * 0.5, biases normal * 0.1,
drawn layer by layer, kernel before bias), then three input samples are drawn from the same
generator (normal * 1.5, times 3.0 for the act_* family) and run through `model(x, training=False)`
in float32.

Each `tests/fixtures/<name>.safetensors` holds, all float32:

* `<keras layer name>/kernel`, `<keras layer name>/bias` in Keras's own layouts
  (Dense kernel `[in, out]`, Conv2D kernel `[kh, kw, in, out]`);
* `__input__`  of shape `[3, *input_shape]`;
* `__output__` of shape `[3, *output_shape]`.

The consumer is `tests/forward_keras.rs`. The script also writes `tests/fixtures/README.md`.
"""

import os

# Deterministic CPU kernels and a fixed backend, set before TensorFlow / Keras are imported.
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import keras  # noqa: E402
import safetensors  # noqa: E402
import tensorflow as tf  # noqa: E402
from keras import layers  # noqa: E402
from safetensors.numpy import save_file  # noqa: E402

tf.get_logger().setLevel("ERROR")  # predict() in a loop warns about retracing; harmless here

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "fixtures"
SAMPLES = 3

ACTIVATIONS = [
    "linear", "relu", "relu6", "sigmoid", "tanh", "softmax",
    "leaky_relu", "elu", "gelu", "swish", "softplus", "hard_sigmoid",
]


# Each spec: name -> (seed, input_shape, layers factory, kiln syntax, expected weight names,
#                     input scale). The factory is called after clear_session() so that
#                     automatic names restart.
def small_cnn():
    return [
        layers.Conv2D(4, 3, activation="relu"),
        layers.Conv2D(6, (3, 3), activation="relu", padding="valid", strides=1),
        layers.MaxPooling2D(2),
        layers.Dropout(0.25),
        layers.Flatten(),
        layers.Dense(8, activation="relu"),
        layers.Dropout(0.5),
        layers.Dense(5, activation="softmax"),
    ]


def same_padding():
    return [
        layers.Conv2D(4, (3, 2), strides=(2, 3), padding="same", activation="elu"),
        layers.Conv2D(5, 3, strides=2, padding="same", use_bias=False, activation="gelu"),
        layers.GlobalAveragePooling2D(),
    ]


def pools():
    return [
        layers.Conv2D(2, 1, name="mix"),
        layers.MaxPooling2D(3, strides=2, padding="same"),
        layers.AveragePooling2D((2, 3), strides=(1, 2), padding="same"),
        layers.MaxPooling2D((2, 1), strides=1),
        layers.AveragePooling2D(2, padding="same"),
    ]


def act(name):
    return lambda: [layers.Dense(5, activation=name)]


def sequence():
    return [
        layers.Dense(3, activation="swish"),
        layers.Flatten(),
        layers.Reshape((3, 6)),
        layers.Dense(2, activation="softplus"),
        layers.Flatten(),
        layers.Dense(4, activation="hard_sigmoid"),
    ]


def mlp():
    return [
        layers.Dense(16, activation="relu"),
        layers.Dense(16, activation="tanh", use_bias=False),
        layers.Dense(4, activation="sigmoid", name="head"),
    ]


def reshape_conv():
    return [
        layers.Reshape((4, 4, 3)),
        layers.Conv2D(2, 2, strides=2, activation="leaky_relu"),
        layers.Flatten(),
        layers.Dense(3),
    ]


def activation_layers():
    return [
        layers.Dense(6),
        layers.Activation("relu6"),
        layers.Dense(6, use_bias=False),
        layers.Activation("tanh"),
        layers.Dense(3),
        layers.Activation("softmax"),
    ]


MODELS = [
    dict(name="small_cnn", seed=101, input=(12, 12, 2), layers=small_cnn,
         kiln="[12, 12, 2] => Conv2D(4, 3, relu), Conv2D(6, (3, 3), activation = relu, "
              "padding = valid, strides = 1), MaxPool(2), Dropout(0.25), Flatten, "
              "Dense(8, relu), Dropout(0.5), Dense(5, softmax)",
         weights=["conv2d/kernel", "conv2d/bias", "conv2d_1/kernel", "conv2d_1/bias",
                  "dense/kernel", "dense/bias", "dense_1/kernel", "dense_1/bias"]),
    dict(name="same_padding", seed=102, input=(7, 10, 3), layers=same_padding,
         kiln="[7, 10, 3] => Conv2D(4, (3, 2), strides = (2, 3), padding = same, "
              "activation = elu), Conv2D(5, 3, strides = 2, padding = same, use_bias = false, "
              "activation = gelu), GlobalAvgPool",
         weights=["conv2d/kernel", "conv2d/bias", "conv2d_1/kernel"]),
    dict(name="pools", seed=103, input=(9, 7, 2), layers=pools,
         kiln="[9, 7, 2] => Conv2D(2, 1, name = \"mix\"), MaxPool(3, strides = 2, padding = same), "
              "AvgPool((2, 3), strides = (1, 2), padding = same), MaxPool((2, 1), strides = 1), "
              "AvgPool(2, padding = same)",
         weights=["mix/kernel", "mix/bias"]),
] + [
    dict(name=f"act_{a}", seed=200 + i, input=(2, 3, 5), layers=act(a), scale=3.0,
         kiln=f"[2, 3, 5] => Dense(5, {a})",
         weights=["dense/kernel", "dense/bias"])
    for i, a in enumerate(ACTIVATIONS)
] + [
    dict(name="sequence", seed=104, input=(6, 4), layers=sequence,
         kiln="[6, 4] => Dense(3, swish), Flatten, Reshape(3, 6), Dense(2, softplus), Flatten, "
              "Dense(4, hard_sigmoid)",
         weights=["dense/kernel", "dense/bias", "dense_1/kernel", "dense_1/bias",
                  "dense_2/kernel", "dense_2/bias"]),
    dict(name="mlp", seed=105, input=(20,), layers=mlp,
         kiln="[20] => Dense(16, relu), Dense(16, tanh, use_bias = false), "
              "Dense(4, sigmoid, name = \"head\")",
         weights=["dense/kernel", "dense/bias", "dense_1/kernel", "head/kernel", "head/bias"]),
    dict(name="reshape_conv", seed=106, input=(48,), layers=reshape_conv,
         kiln="[48] => Reshape(4, 4, 3), Conv2D(2, 2, strides = 2, activation = leaky_relu), "
              "Flatten, Dense(3)",
         weights=["conv2d/kernel", "conv2d/bias", "dense/kernel", "dense/bias"]),
    dict(name="activation_layers", seed=107, input=(10,), layers=activation_layers,
         kiln="[10] => Dense(6), Activation(relu6), Dense(6, use_bias = false), "
              "Activation(tanh), Dense(3), Activation(softmax)",
         weights=["dense/kernel", "dense/bias", "dense_1/kernel", "dense_2/kernel",
                  "dense_2/bias"]),
]


def check_activation_defaults():
    """Pins the Keras 3 meanings of the activation strings kiln mirrors."""
    x = np.linspace(-6.0, 6.0, 49).astype("float32")
    get = keras.activations.get
    assert np.allclose(get("gelu")(x), keras.activations.gelu(x, approximate=False), atol=0), \
        "'gelu' is not the exact (erf) GELU"
    assert not np.allclose(get("gelu")(x), keras.activations.gelu(x, approximate=True), atol=1e-6)
    assert np.allclose(get("leaky_relu")(x), np.where(x > 0, x, 0.2 * x), atol=1e-7), \
        "'leaky_relu' negative_slope is not 0.2"
    assert np.allclose(get("hard_sigmoid")(x), np.clip(x + 3.0, 0.0, 6.0) / 6.0, atol=1e-7), \
        "'hard_sigmoid' is not relu6(x + 3) / 6"
    assert np.allclose(get("elu")(x), np.where(x > 0, x, np.expm1(x)), atol=1e-6), \
        "'elu' alpha is not 1"


def build(spec):
    keras.backend.clear_session()
    model = keras.Sequential([keras.Input(spec["input"])] + spec["layers"]())
    rng = np.random.default_rng(spec["seed"])
    tensors = {}
    for layer in model.layers:
        values = []
        for w in layer.weights:
            if w.name == "kernel":
                v = rng.standard_normal(w.shape) * 0.5
            elif w.name == "bias":
                v = rng.standard_normal(w.shape) * 0.1
            else:
                raise RuntimeError(f"unexpected weight {w.path}")
            v = v.astype("float32")
            values.append(v)
            tensors[f"{layer.name}/{w.name}"] = v
        if values:
            layer.set_weights(values)
    got = list(tensors)
    if got != spec["weights"]:
        raise RuntimeError(f"{spec['name']}: weight names {got}, expected {spec['weights']}")

    scale = spec.get("scale", 1.0)
    x = (rng.standard_normal((SAMPLES, *spec["input"])) * 1.5 * scale).astype("float32")
    y = np.asarray(model(x, training=False)).astype("float32")
    # predict() must agree with the direct call (no dropout, same kernels).
    y2 = model.predict(x, verbose=0)
    if not np.allclose(y, y2, atol=1e-6, rtol=1e-6):
        raise RuntimeError(f"{spec['name']}: predict() and call disagree")
    if not np.all(np.isfinite(y)):
        raise RuntimeError(f"{spec['name']}: non-finite output")

    shapes = [tuple(layer.output.shape[1:]) for layer in model.layers]
    for layer, s in zip(model.layers, shapes):
        if any(d == 0 for d in s):
            raise RuntimeError(f"{spec['name']}: layer {layer.name} has an empty output {s}")
    if y.shape != (SAMPLES, *model.output_shape[1:]):
        raise RuntimeError(f"{spec['name']}: output shape {y.shape}")

    tensors["__input__"] = np.ascontiguousarray(x)
    tensors["__output__"] = np.ascontiguousarray(y)
    for k, v in tensors.items():
        assert v.dtype == np.float32, k
    path = OUT / f"{spec['name']}.safetensors"
    save_file(tensors, str(path))
    path.chmod(0o644)  # save_file creates the file 0600
    return model, shapes, tensors


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    check_activation_defaults()
    versions = dict(keras=keras.__version__, tensorflow=tf.__version__,
                    numpy=np.__version__, safetensors=safetensors.__version__)
    rows = []
    for spec in MODELS:
        model, shapes, tensors = build(spec)
        params = ", ".join(f"`{k}` {list(v.shape)}" for k, v in tensors.items()
                           if not k.startswith("__"))
        stages = " → ".join(
            [str(list(spec["input"]))]
            + [f"{layer.name} {list(s)}" for layer, s in zip(model.layers, shapes)])
        rows.append((spec, params, stages, tensors))
        print(f"{spec['name']:<20} seed {spec['seed']}  in {list(tensors['__input__'].shape)}"
              f"  out {list(tensors['__output__'].shape)}")

    lines = [
        "# Keras reference fixtures",
        "",
        "Forward-pass reference data computed by real Keras, consumed by `tests/forward_keras.rs`.",
        "Do not edit by hand; regenerate from the repository root with",
        "",
        "```sh",
        "pip install -r scripts/requirements-fixtures.txt",
        "python scripts/make_fixtures.py",
        "```",
        "",
        "Generated with keras {keras}, tensorflow-cpu {tensorflow} (backend `tensorflow`), "
        "numpy {numpy}, safetensors {safetensors}.".format(**versions),
        "",
        "Each `<name>.safetensors` holds, all float32: every weight as `<keras layer name>/kernel`"
        " or `/bias` in Keras's layouts (Dense `[in, out]`, Conv2D `[kh, kw, in, out]`), set from"
        " `np.random.default_rng(seed)` (kernels normal × 0.5, biases normal × 0.1, drawn layer by"
        " layer, kernel first); `__input__` `[3, *input]`, three samples drawn next from the same"
        " generator (normal × 1.5; × 3.0 more for `act_*`); `__output__` `[3, *output]`,"
        " `model(x, training=False)`.",
        "",
        "| fixture | seed | kiln model | weights | shapes (Keras layer names) |",
        "|---|---|---|---|---|",
    ]
    for spec, params, stages, _ in rows:
        lines.append(f"| `{spec['name']}` | {spec['seed']} | `{spec['kiln']}` | {params} | {stages} |")
    lines += [
        "",
        "Notes on Keras behaviour these fixtures pin down:",
        "",
        "* The activation string `gelu` is the exact erf form (`approximate=False`); `leaky_relu`"
        " has `negative_slope=0.2`; `hard_sigmoid` is `relu6(x + 3) / 6`; `elu` has `alpha=1`.",
        "* `same` padding with stride > 1 pads `total = max((out - 1) * stride + k - in, 0)`, with"
        " `total // 2` before and the rest after (bottom/right gets the extra one). In"
        " `same_padding` the first conv pads H 1 / 1 and W 0 / 1, the second pads H 0 / 1 and"
        " W 0 / 1; in `pools` the first MaxPool pads 1 / 1 on both axes, the first AvgPool 0 / 1"
        " on both, and the last AvgPool needs no padding.",
        "* `AveragePooling2D(padding=\"same\")` divides by the number of real (non-padded) inputs"
        " in the window, not by the window size (in `pools`, counting the padding would change the"
        " first AvgPool's output by up to 1.36); `MaxPooling2D(padding=\"same\")` ignores the padding.",
        "* Automatic layer names count per Keras session; the script calls"
        " `keras.backend.clear_session()` before each model so they restart at `dense`, `conv2d`."
        " Keras's variable `.path` is `sequential/<layer>/<param>`; the fixtures drop the"
        " `sequential/` prefix.",
        "",
    ]
    (OUT / "README.md").write_text("\n".join(lines))
    print(f"wrote {len(rows)} fixtures to {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
