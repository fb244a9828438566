#!/usr/bin/env python3
"""Reference forward-pass fixtures for kiln, computed by real Keras 3 / TensorFlow.

Regenerate (from the repository root) with:

    pip install -r scripts/requirements-fixtures.txt
    python scripts/make_fixtures.py             # writes tests/fixtures/
    python scripts/make_fixtures.py 'graph_*'   # writes only the fixtures these patterns match
                                                # (and README.md, always for all of them)

Generated with (pinned in scripts/requirements-fixtures.txt):

    keras          3.15.1
    tensorflow-cpu 2.21.0   (Keras backend: tensorflow)
    numpy          2.4.6
    safetensors    0.8.0

Every model is a fresh `keras.Sequential`, or for the `graph_*` family a functional
`keras.Model` (`keras.Input`, layers called on values), built after `keras.backend.clear_session()`
so that Keras's automatic layer names restart at `dense`, `conv2d`, ... for each model. A graph's
layers are created in the order kiln's functional form writes them (a callee before its
arguments, as Python evaluates `layers.Dense(3)(layers.Flatten()(x))`), so both name them alike.
All weights are set to seeded random values (`np.random.default_rng(seed)`: kernels normal * 0.5,
biases and normalization betas normal * 0.1, normalization gammas 1 + normal * 0.3, drawn layer by layer in `model.layers` order, kernel before bias; a shared
layer's weights once), then three input samples are drawn from the same generator (normal * 1.5,
times the spec's `scale`, e.g. 3.0 for the act_* family, 0.2 for graph_residual) and run through
`model(x, training=False)` in float32.

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

import fnmatch  # noqa: E402
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
KERAS_OUT = OUT / "keras"
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


def pad_crop():
    return [
        layers.ZeroPadding2D(((1, 0), (2, 1))),
        layers.Conv2D(3, 3, activation="tanh"),
        layers.Cropping2D(((1, 1), (0, 2))),
        layers.ZeroPadding2D(),
        layers.Flatten(),
        layers.Dense(3),
    ]


def conv1d():
    return [
        layers.Conv1D(4, 3, activation="relu"),
        layers.Conv1D(5, 2, strides=2, padding="same", activation="tanh"),
        layers.MaxPooling1D(2),
        layers.Conv1D(3, 3, padding="causal"),
        layers.AveragePooling1D(2, strides=1, padding="same"),
        layers.Flatten(),
        layers.Dense(3),
    ]


def conv1d_dilated():
    return [
        layers.Conv1D(4, 3, dilation_rate=2, activation="tanh"),
        layers.Conv1D(3, 2, dilation_rate=4, padding="causal"),
        layers.Conv1D(2, 3, dilation_rate=3, padding="same", activation="relu"),
        layers.Flatten(),
        layers.Dense(3),
    ]


def upsampling():
    return [
        layers.Conv2D(3, 2, activation="tanh"),
        layers.UpSampling2D((2, 3)),
        layers.Conv2D(2, 3),
        layers.UpSampling2D(),
        layers.Flatten(),
        layers.Dense(3),
    ]


def layer_norm():
    return [
        layers.Conv2D(4, 2, activation="tanh"),
        layers.LayerNormalization(),
        layers.Flatten(),
        layers.Dense(6),
        layers.LayerNormalization(epsilon=1e-5),
        layers.Dense(3),
    ]


def depthwise():
    return [
        layers.DepthwiseConv2D(3, depth_multiplier=2, activation="relu"),
        layers.DepthwiseConv2D((2, 3), strides=2, padding="same", use_bias=False),
        layers.Flatten(),
        layers.Dense(3),
    ]


def separable():
    return [
        layers.SeparableConv2D(4, 3, depth_multiplier=2, activation="relu"),
        layers.SeparableConv2D(3, (2, 3), strides=2, padding="same", use_bias=False),
        layers.Flatten(),
        layers.Dense(3),
    ]


def lstm():
    return [
        layers.LSTM(4, return_sequences=True),
        layers.LSTM(3, go_backwards=True, return_sequences=True),
        layers.Flatten(),
        layers.Dense(2),
    ]


def bidirectional():
    return [
        layers.Bidirectional(layers.LSTM(4, return_sequences=True)),
        layers.Bidirectional(layers.GRU(3)),
        layers.Dense(2),
    ]


def lstm_options():
    return [
        layers.LSTM(3, activation="elu", recurrent_activation="hard_sigmoid", use_bias=False),
    ]


def gru():
    return [
        layers.GRU(4, return_sequences=True),
        layers.GRU(3, go_backwards=True, return_sequences=True),
        layers.Flatten(),
        layers.Dense(2),
    ]


def gru_options():
    return [
        layers.GRU(3, activation="relu", recurrent_activation="hard_sigmoid", use_bias=False),
    ]


def simple_rnn():
    return [
        layers.SimpleRNN(4, return_sequences=True, go_backwards=True),
        layers.SimpleRNN(3, activation="relu", use_bias=False),
        layers.Dense(2),
    ]


def embedding():
    return [
        layers.Embedding(7, 3),
        layers.GRU(4),
        layers.Dense(2),
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


# The functional (graph) models: each factory takes the `keras.Input` and returns the output
# value. Layers are created in the order of the kiln statements in each spec's `kiln` text.
def graph_residual(image):
    x = layers.Conv2D(4, 3, padding="same", activation="relu")(image)
    y = layers.Conv2D(4, 3, padding="same")(x)
    x = layers.Activation("relu")(layers.Add()([x, y]))
    return layers.Dense(3, activation="softmax")(
        layers.GlobalAveragePooling2D()(layers.MaxPooling2D(2)(x)))


def graph_branches_concat(img):
    p = layers.Conv2D(3, 3, padding="same", activation="tanh")(img)
    q = layers.Dense(2, activation="relu")(img)
    j = layers.Concatenate()([p, q])
    r = layers.Conv2D(5, (3, 1), strides=(2, 1), padding="same")(img)
    k = layers.Concatenate(axis=1)([j, r])
    m = layers.Concatenate(axis=2)([k, layers.MaxPooling2D((1, 2))(k)])
    return layers.Dense(4)(layers.Flatten()(m))


def graph_merges(v):
    a = layers.Dense(4, activation="tanh")(v)
    b = layers.Dense(4)(v)
    c = layers.Dense(4, activation="sigmoid")(v)
    return layers.Concatenate()([
        layers.Subtract()([a, b]),
        layers.Multiply()([a, b, c]),
        layers.Average()([a, b, c]),
        layers.Maximum()([a, b, c]),
        layers.Minimum()([b, c]),
    ])


def graph_two_inputs(image, meta):
    a = layers.Dense(4, activation="tanh")(
        layers.Flatten()(layers.Conv2D(2, 3, padding="same")(image)))
    b = layers.Dense(4, activation="sigmoid")(meta)
    return layers.Dense(3, activation="softmax")(layers.Concatenate()([a, b, meta]))


def graph_two_outputs(image):
    x = layers.Flatten()(layers.Conv2D(3, 3, activation="relu")(image))
    cls = layers.Dense(4, activation="softmax")(x)
    aux = layers.Dense(2, activation="sigmoid")(x)
    score = layers.Dense(1)(layers.Concatenate()([x, aux]))
    return [cls, aux, score]


def graph_shared_dense(v):
    enc = layers.Dense(6, activation="tanh")
    a = enc(v)
    b = enc(layers.Dense(6, activation="relu")(v))
    c = enc(a)
    return layers.Dense(3, activation="softmax")(layers.Concatenate()([a, b, c]))


def graph_global_pools(image):
    x = layers.Conv2D(4, 3, padding="same", activation="tanh")(image)
    m = layers.GlobalMaxPooling2D()(x)
    a = layers.GlobalAveragePooling2D()(x)
    return layers.Dense(3, activation="softmax")(layers.Concatenate()([m, a]))


def graph_global_pools_1d(seq):
    x = layers.Dense(5, activation="tanh")(seq)
    m = layers.GlobalMaxPooling1D()(x)
    a = layers.GlobalAveragePooling1D()(x)
    return layers.Dense(3, activation="softmax")(layers.Concatenate()([m, a]))


GRAPHS = [
    # Inputs × 0.2, or the softmax saturates (outputs within 1e-4 of 0 and 1 at × 1).
    dict(name="graph_residual", seed=301, input=(8, 8, 2), input_name="image",
         graph=graph_residual, scale=0.2,
         kiln="input image: [8, 8, 2]; "
              "let x = Conv2D(4, 3, padding = same, activation = relu)(image); "
              "let y = Conv2D(4, 3, padding = same)(x); "
              "let x = Activation(relu)(Add(x, y)); "
              "output class = Dense(3, softmax)(GlobalAvgPool(MaxPool(2)(x)));",
         weights=["conv2d/kernel", "conv2d/bias", "conv2d_1/kernel", "conv2d_1/bias",
                  "dense/kernel", "dense/bias"]),
    dict(name="graph_branches_concat", seed=302, input=(6, 6, 2), input_name="img",
         graph=graph_branches_concat,
         kiln="input img: [6, 6, 2]; "
              "let p = Conv2D(3, 3, padding = same, activation = tanh)(img); "
              "let q = Dense(2, relu)(img); "
              "let j = Concatenate(p, q); "
              "let r = Conv2D(5, (3, 1), strides = (2, 1), padding = same)(img); "
              "let k = Concatenate(axis = 1)(j, r); "
              "let m = Concatenate(axis = 2)(k, MaxPool((1, 2))(k)); "
              "output y = Dense(4)(Flatten(m));",
         weights=["conv2d/kernel", "conv2d/bias", "dense/kernel", "dense/bias",
                  "conv2d_1/kernel", "conv2d_1/bias", "dense_1/kernel", "dense_1/bias"]),
    # Maximum and Minimum pick one input per element: `merge_gaps` checks that no two
    # inputs are within 1e-3 of each other there, so no tie decides an output.
    dict(name="graph_merges", seed=303, input=(6,), input_name="v", graph=graph_merges,
         merge_gaps=["dense", "dense_1", "dense_2"],
         kiln="input v: [6]; "
              "let a = Dense(4, tanh)(v); let b = Dense(4)(v); let c = Dense(4, sigmoid)(v); "
              "output y = Concatenate(Subtract(a, b), Multiply(a, b, c), Average(a, b, c), "
              "Maximum(a, b, c), Minimum(b, c));",
         weights=["dense/kernel", "dense/bias", "dense_1/kernel", "dense_1/bias",
                  "dense_2/kernel", "dense_2/bias"]),
    dict(name="graph_shared_dense", seed=304, input=(6,), input_name="v",
         graph=graph_shared_dense,
         kiln="input v: [6]; let enc = Dense(6, tanh); let a = enc(v); "
              "let b = enc(Dense(6, relu)(v)); let c = enc(a); "
              "output y = Dense(3, softmax)(Concatenate(a, b, c));",
         weights=["dense/kernel", "dense/bias", "dense_1/kernel", "dense_1/bias",
                  "dense_2/kernel", "dense_2/bias"]),
    # Two inputs: `__input__` holds each sample's inputs flattened one after the other, in the
    # order declared, which is the layout of kiln's generated input struct.
    dict(name="graph_two_inputs", seed=305, inputs=[("image", (4, 4, 1)), ("meta", (3,))],
         graph=graph_two_inputs, scale=0.5,
         kiln="input image: [4, 4, 1]; input meta: [3]; "
              "let a = Dense(4, tanh)(Flatten(Conv2D(2, 3, padding = same)(image))); "
              "let b = Dense(4, sigmoid)(meta); "
              "output y = Dense(3, softmax)(Concatenate(a, b, meta));",
         weights=["conv2d/kernel", "conv2d/bias", "dense/kernel", "dense/bias",
                  "dense_1/kernel", "dense_1/bias", "dense_2/kernel", "dense_2/bias"]),
    dict(name="graph_global_pools", seed=307, input=(6, 5, 3), input_name="image",
         graph=graph_global_pools,
         kiln="input image: [6, 5, 3]; "
              "let x = Conv2D(4, 3, padding = same, activation = tanh)(image); "
              "output y = Dense(3, softmax)(Concatenate(GlobalMaxPool(x), GlobalAvgPool(x)));",
         weights=["conv2d/kernel", "conv2d/bias", "dense/kernel", "dense/bias"]),
    dict(name="graph_global_pools_1d", seed=308, input=(7, 4), input_name="seq",
         graph=graph_global_pools_1d,
         kiln="input seq: [7, 4]; let x = Dense(5, tanh)(seq); "
              "output y = Dense(3, softmax)(Concatenate(GlobalMaxPooling1D(x), GlobalAveragePooling1D(x)));",
         weights=["dense/kernel", "dense/bias", "dense_1/kernel", "dense_1/bias"]),
    # Three outputs, one of them (`aux`) also read by a layer: `__output__` holds each
    # sample's outputs flattened one after the other, in the order they are declared.
    dict(name="graph_two_outputs", seed=306, input=(5, 5, 2), input_name="image",
         graph=graph_two_outputs, scale=0.5,
         # Keras's evaluate with a loss and a weight per output, on targets drawn here.
         losses=[("dense", "sparse_categorical_crossentropy", 1.0),
                 ("dense_1", "binary_crossentropy", 0.25),
                 ("dense_2", "mean_squared_error", 0.5)],
         kiln="input image: [5, 5, 2]; "
              "let x = Flatten(Conv2D(3, 3, relu)(image)); "
              "output class = Dense(4, softmax)(x); "
              "output aux = Dense(2, sigmoid)(x); "
              "output score = Dense(1)(Concatenate(x, aux));",
         weights=["conv2d/kernel", "conv2d/bias", "dense_1/kernel", "dense_1/bias",
                  "dense/kernel", "dense/bias", "dense_2/kernel", "dense_2/bias"]),
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
    dict(name="pad_crop", seed=108, input=(6, 5, 2), layers=pad_crop,
         kiln="[6, 5, 2] => ZeroPadding2D(((1, 0), (2, 1))), Conv2D(3, 3, tanh), "
              "Cropping2D(((1, 1), (0, 2))), ZeroPadding2D, Flatten, Dense(3)",
         weights=["conv2d/kernel", "conv2d/bias", "dense/kernel", "dense/bias"]),
    dict(name="conv1d", seed=109, input=(16, 3), layers=conv1d,
         kiln="[16, 3] => Conv1D(4, 3, relu), Conv1D(5, 2, tanh, strides = 2, padding = same), "
              "MaxPooling1D(2), Conv1D(3, 3, padding = causal), "
              "AveragePooling1D(2, strides = 1, padding = same), Flatten, Dense(3)",
         weights=["conv1d/kernel", "conv1d/bias", "conv1d_1/kernel", "conv1d_1/bias",
                  "conv1d_2/kernel", "conv1d_2/bias", "dense/kernel", "dense/bias"]),
    dict(name="conv1d_dilated", seed=119, input=(12, 3), layers=conv1d_dilated, train=True,
         kiln="[12, 3] => Conv1D(4, 3, tanh, dilation_rate = 2), "
              "Conv1D(3, 2, padding = causal, dilation_rate = 4), "
              "Conv1D(2, 3, relu, padding = same, dilation_rate = 3), Flatten, Dense(3)",
         weights=["conv1d/kernel", "conv1d/bias", "conv1d_1/kernel", "conv1d_1/bias",
                  "conv1d_2/kernel", "conv1d_2/bias", "dense/kernel", "dense/bias"]),
    dict(name="upsampling", seed=110, input=(3, 4, 2), layers=upsampling,
         kiln="[3, 4, 2] => Conv2D(3, 2, tanh), UpSampling2D((2, 3)), Conv2D(2, 3), "
              "UpSampling2D, Flatten, Dense(3)",
         weights=["conv2d/kernel", "conv2d/bias", "conv2d_1/kernel", "conv2d_1/bias",
                  "dense/kernel", "dense/bias"]),
    dict(name="layer_norm", seed=111, input=(3, 4, 2), layers=layer_norm, train=True,
         kiln="[3, 4, 2] => Conv2D(4, 2, tanh), LayerNormalization, Flatten, Dense(6), "
              "LayerNormalization(epsilon = 1e-5), Dense(3)",
         weights=["conv2d/kernel", "conv2d/bias", "layer_normalization/gamma",
                  "layer_normalization/beta", "dense/kernel", "dense/bias",
                  "layer_normalization_1/gamma", "layer_normalization_1/beta",
                  "dense_1/kernel", "dense_1/bias"]),
    dict(name="depthwise", seed=118, input=(7, 6, 3), layers=depthwise, train=True, scale=0.3,
         kiln="[7, 6, 3] => DepthwiseConv2D(3, relu, depth_multiplier = 2), "
              "DepthwiseConv2D((2, 3), strides = 2, padding = same, use_bias = false), "
              "Flatten, Dense(3)",
         weights=["depthwise_conv2d/kernel", "depthwise_conv2d/bias",
                  "depthwise_conv2d_1/kernel", "dense/kernel", "dense/bias"]),
    dict(name="separable", seed=120, input=(7, 6, 3), layers=separable, train=True, scale=0.3,
         kiln="[7, 6, 3] => SeparableConv2D(4, 3, relu, depth_multiplier = 2), "
              "SeparableConv2D(3, (2, 3), strides = 2, padding = same, use_bias = false), "
              "Flatten, Dense(3)",
         weights=["separable_conv2d/depthwise_kernel", "separable_conv2d/pointwise_kernel",
                  "separable_conv2d/bias", "separable_conv2d_1/depthwise_kernel",
                  "separable_conv2d_1/pointwise_kernel", "dense/kernel", "dense/bias"]),
    dict(name="lstm", seed=112, input=(6, 3), layers=lstm, train=True,
         kiln="[6, 3] => LSTM(4, return_sequences = true), "
              "LSTM(3, go_backwards = true, return_sequences = true), Flatten, Dense(2)",
         weights=["lstm/kernel", "lstm/recurrent_kernel", "lstm/bias",
                  "lstm_1/kernel", "lstm_1/recurrent_kernel", "lstm_1/bias",
                  "dense/kernel", "dense/bias"]),
    dict(name="bidirectional", seed=121, input=(6, 3), layers=bidirectional, train=True,
         kiln="[6, 3] => Bidirectional(LSTM(4, return_sequences = true)), "
              "Bidirectional(GRU(3)), Dense(2)",
         weights=[f"{b}/{d}_{c}/{w}"
                  for b, c in (("bidirectional", "lstm"), ("bidirectional_1", "gru"))
                  for d in ("forward", "backward")
                  for w in ("kernel", "recurrent_kernel", "bias")]
                 + ["dense/kernel", "dense/bias"]),
    dict(name="lstm_options", seed=113, input=(5, 4), layers=lstm_options, scale=2.0,
         kiln="[5, 4] => LSTM(3, elu, hard_sigmoid, use_bias = false)",
         weights=["lstm/kernel", "lstm/recurrent_kernel"]),
    dict(name="gru", seed=114, input=(6, 3), layers=gru, train=True,
         kiln="[6, 3] => GRU(4, return_sequences = true), "
              "GRU(3, go_backwards = true, return_sequences = true), Flatten, Dense(2)",
         weights=["gru/kernel", "gru/recurrent_kernel", "gru/bias",
                  "gru_1/kernel", "gru_1/recurrent_kernel", "gru_1/bias",
                  "dense/kernel", "dense/bias"]),
    dict(name="gru_options", seed=115, input=(5, 4), layers=gru_options, scale=2.0,
         kiln="[5, 4] => GRU(3, relu, hard_sigmoid, use_bias = false)",
         weights=["gru/kernel", "gru/recurrent_kernel"]),
    dict(name="simple_rnn", seed=116, input=(6, 3), layers=simple_rnn, train=True,
         kiln="[6, 3] => SimpleRNN(4, return_sequences = true, go_backwards = true), "
              "SimpleRNN(3, relu, use_bias = false), Dense(2)",
         weights=["simple_rnn/kernel", "simple_rnn/recurrent_kernel", "simple_rnn/bias",
                  "simple_rnn_1/kernel", "simple_rnn_1/recurrent_kernel",
                  "dense/kernel", "dense/bias"]),
    dict(name="embedding", seed=117, input=(6,), layers=embedding, train=True, tokens=7,
         kiln="[6] => Embedding(7, 3), GRU(4), Dense(2)",
         weights=["embedding/embeddings", "gru/kernel", "gru/recurrent_kernel", "gru/bias",
                  "dense/kernel", "dense/bias"]),
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


def graph_nodes(model):
    """A functional model's layer applications in the order they run (depth first from the
    output): `(reference, output shape, input references)`, references as in Keras's summary
    ("Connected to"), `<layer>[<application>][0]`."""
    order, seen = [], set()

    def visit(t):
        op, k, _ = t._keras_history
        if (op.name, k) in seen:
            return
        seen.add((op.name, k))
        node = op._inbound_nodes[k]
        for i in node.input_tensors:
            visit(i)
        ins = [f"{i._keras_history[0].name}[{i._keras_history[1]}][0]" for i in node.input_tensors]
        order.append((f"{op.name}[{k}][0]", tuple(node.output_tensors[0].shape[1:]), ins))

    for t in model.outputs:
        visit(t)
    return order


def kiln_name(layer, w):
    """kiln's name of a layer's weight: `<layer>/<param>`; a Bidirectional's copies' as
    `bidirectional/forward_lstm/kernel` (Keras's path `…/forward_lstm/lstm_cell/kernel` without
    the model and the cell)."""
    if isinstance(layer, layers.Bidirectional):
        return f"{layer.name}/{w.path.split('/')[-3]}/{w.name}"
    return f"{layer.name}/{w.name}"


def build(spec, write=True):
    keras.backend.clear_session()
    if "inputs" in spec:
        ins = [keras.Input(shape, name=name) for name, shape in spec["inputs"]]
        model = keras.Model(ins, spec["graph"](*ins))
    elif "graph" in spec:
        inp = keras.Input(spec["input"], name=spec["input_name"])
        model = keras.Model(inp, spec["graph"](inp))
    else:
        model = keras.Sequential([keras.Input(spec["input"])] + spec["layers"]())
    rng = np.random.default_rng(spec["seed"])
    tensors = {}
    for layer in model.layers:
        values = []
        for w in layer.weights:
            if w.name in ("kernel", "embeddings", "depthwise_kernel", "pointwise_kernel"):
                v = rng.standard_normal(w.shape) * 0.5
            elif w.name in ("bias", "beta"):
                v = rng.standard_normal(w.shape) * 0.1
            elif w.name == "recurrent_kernel":
                v = rng.standard_normal(w.shape) * 0.3
            elif w.name == "gamma":
                v = 1.0 + rng.standard_normal(w.shape) * 0.3
            else:
                raise RuntimeError(f"unexpected weight {w.path}")
            v = v.astype("float32")
            values.append(v)
            tensors[kiln_name(layer, w)] = v
        if values:
            layer.set_weights(values)
    got = list(tensors)
    if got != spec["weights"]:
        raise RuntimeError(f"{spec['name']}: weight names {got}, expected {spec['weights']}")

    scale = spec.get("scale", 1.0)
    if "inputs" in spec:
        x = [(rng.standard_normal((SAMPLES, *shape)) * 1.5 * scale).astype("float32")
             for _, shape in spec["inputs"]]
    elif "tokens" in spec:
        # Token ids in range (Keras refuses others, kiln clamps them): whole numbers as
        # floats, which Keras's Embedding casts to int32.
        x = rng.integers(0, spec["tokens"], (SAMPLES, *spec["input"])).astype("float32")
    else:
        x = (rng.standard_normal((SAMPLES, *spec["input"])) * 1.5 * scale).astype("float32")
    def joined(y):
        # Several outputs: each sample's, flattened one after the other.
        if isinstance(y, (list, tuple)):
            return np.concatenate([np.asarray(v).reshape(SAMPLES, -1) for v in y], axis=1)
        return np.asarray(y)
    y = joined(model(x, training=False)).astype("float32")
    # predict() must agree with the direct call (no dropout, same kernels).
    y2 = joined(model.predict(x, verbose=0))
    if not np.allclose(y, y2, atol=1e-6, rtol=1e-6):
        raise RuntimeError(f"{spec['name']}: predict() and call disagree")
    if not np.all(np.isfinite(y)):
        raise RuntimeError(f"{spec['name']}: non-finite output")

    if "graph" in spec:
        shapes = graph_nodes(model)
    else:
        shapes = [(layer.name, tuple(layer.output.shape[1:]), None) for layer in model.layers]
    for name, s, _ in shapes:
        if any(d == 0 for d in s):
            raise RuntimeError(f"{spec['name']}: layer {name} has an empty output {s}")
    if "merge_gaps" in spec:
        # The values Maximum / Minimum choose between must be well apart (no ties).
        probe = keras.Model(model.input,
                            [model.get_layer(n).output for n in spec["merge_gaps"]])
        vs = np.stack([np.asarray(v) for v in probe(x, training=False)])
        gap = min(np.abs(vs[i] - vs[j]).min()
                  for i in range(len(vs)) for j in range(i + 1, len(vs)))
        if gap < 1e-3:
            raise RuntimeError(f"{spec['name']}: merge inputs {gap:.1e} apart (a near tie)")
    if isinstance(model.output_shape, list):
        want = (SAMPLES, sum(int(np.prod(s[1:])) for s in model.output_shape))
    else:
        want = (SAMPLES, *model.output_shape[1:])
    if y.shape != want:
        raise RuntimeError(f"{spec['name']}: output shape {y.shape}")

    if write:
        # The same model in each of Keras's own file formats, read back by `kiln::keras`
        # (tests/forward_keras.rs): the Keras 3 archive, its weights file, the legacy `.h5`.
        KERAS_OUT.mkdir(parents=True, exist_ok=True)
        for ext in ("keras", "weights.h5", "h5"):
            path = KERAS_OUT / f"{spec['name']}.{ext}"
            if ext == "weights.h5":
                model.save_weights(str(path))
            else:
                model.save(str(path))
            path.chmod(0o644)
    if "losses" in spec:
        # One target per output, and Keras's evaluate: the weighted total, then each loss.
        ys = []
        for out, (name, loss, _) in zip(model.outputs, spec["losses"]):
            width = out.shape[-1]
            if loss == "sparse_categorical_crossentropy":
                t = rng.integers(0, width, SAMPLES).astype("float32")
            elif loss == "binary_crossentropy":
                t = rng.integers(0, 2, (SAMPLES, width)).astype("float32")
            else:
                t = rng.standard_normal((SAMPLES, width)).astype("float32")
            ys.append(t)
            tensors[f"__target_{name}__"] = t
        model.compile(loss={n: l for n, l, _ in spec["losses"]},
                      loss_weights={n: w for n, _, w in spec["losses"]})
        got = model.evaluate(x, {n: t for (n, _, _), t in zip(spec["losses"], ys)},
                             batch_size=SAMPLES, return_dict=True, verbose=0)
        keys = ["loss"] + [f"{n}_loss" for n, _, _ in spec["losses"]]
        if sorted(got) != sorted(keys):
            raise RuntimeError(f"{spec['name']}: evaluate returned {sorted(got)}")
        tensors["__losses__"] = np.array([got[k] for k in keys], dtype="float32")
    if spec.get("train"):
        # Three steps of Keras's train_on_batch from these weights, SGD (lr 0.1, which moves
        # each weight by its gradient alone, unlike Adam's normalised step) on the mean squared
        # error to random targets: each step's loss, and every weight after the last step.
        target = rng.standard_normal(y.shape).astype("float32")
        model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), loss="mse")
        losses = [float(model.train_on_batch(x, target)) for _ in range(3)]
        tensors["__train_target__"] = target
        tensors["__train_losses__"] = np.array(losses, dtype="float32")
        for layer in model.layers:
            for w in layer.weights:
                tensors[f"__trained__/{kiln_name(layer, w)}"] = np.asarray(w).astype("float32")
    if "inputs" in spec:
        x = np.concatenate([v.reshape(SAMPLES, -1) for v in x], axis=1)
    tensors["__input__"] = np.ascontiguousarray(x)
    tensors["__output__"] = np.ascontiguousarray(y)
    for k, v in tensors.items():
        assert v.dtype == np.float32, k
    if write:
        path = OUT / f"{spec['name']}.safetensors"
        save_file(tensors, str(path))
        path.chmod(0o644)  # save_file creates the file 0600
    return model, shapes, tensors


def import_errors():
    """A model `kiln import` must refuse, naming every problem: a dilated convolution, a batch
    normalization (no kiln layer yet), a kernel regularizer."""
    keras.backend.clear_session()
    m = keras.Sequential([keras.Input((8, 8, 3)), layers.Conv2D(4, 3, dilation_rate=2),
                          layers.BatchNormalization(), layers.Flatten(),
                          layers.Dense(3, kernel_regularizer="l2")])
    (KERAS_OUT / "unsupported").mkdir(parents=True, exist_ok=True)
    m.save(str(KERAS_OUT / "unsupported" / "import_errors.keras"))


def special_graphs():
    """Functional models whose Keras file differs from kiln's view in the ways that matter:
    `order`, whose `model.layers` order (Keras's, by depth) is not the order its layers were
    made in, and `tricky`, for `kiln import`: inputs declared in another order than they are
    used, a shared layer whose first call is an output, a layer named like the value of a
    shared layer's call. Each is saved as `.keras`, `.weights.h5` and `.h5` with
    `<name>.io.safetensors` (`x`, `y`: inputs and Keras's outputs, kiln::keras::Reference)."""
    out = KERAS_OUT / "special"
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(401)

    def save(model, name, xs):
        for w in model.weights:
            w.assign((rng.standard_normal(w.shape) * 0.5).astype("float32"))
        model.save(str(out / f"{name}.keras"))
        model.save_weights(str(out / f"{name}.weights.h5"))
        model.save(str(out / f"{name}.h5"))
        ys = model(xs, training=False)
        flat = lambda v: np.concatenate([np.asarray(a).reshape(len(a), -1) for a in v], axis=1) \
            if isinstance(v, (list, tuple)) else np.asarray(v)
        save_file({"x": np.ascontiguousarray(flat(xs)).astype("float32"),
                   "y": np.ascontiguousarray(flat(ys)).astype("float32")},
                  str(out / f"{name}.io.safetensors"))

    keras.backend.clear_session()
    x = keras.Input((4,), name="x")
    a = layers.Dense(3, activation="tanh", name="a")(x)
    b = layers.Dense(3, name="b")(a)
    c = layers.Dense(3, name="c")(x)
    save(keras.Model(x, layers.Add()([c, b])), "order",
         rng.standard_normal((3, 4)).astype("float32"))

    keras.backend.clear_session()
    p = keras.Input((3,), name="p")
    q = keras.Input((2,), name="q")
    enc = layers.Dense(3, activation="tanh", name="enc")
    e0 = enc(p)
    e1 = enc(e0)
    other = layers.Dense(3, name="enc_call0")(q)
    head = layers.Dense(2, name="head")(layers.Concatenate()([e1, other, e0]))
    save(keras.Model([q, p], [e0, head]), "tricky",
         [rng.standard_normal((3, 2)).astype("float32"),
          rng.standard_normal((3, 3)).astype("float32")])

    # Models inside models. `nested`: a functional model calling a Sequential one, made after
    # the outer layers, so its layers' automatic names (`dense_1`, `dense_2`) are not the ones
    # kiln gives them inside their own model (`dense`, `dense_1`). `nested_seq`: a Sequential
    # model holding a functional one whose layers are named.
    keras.backend.clear_session()
    v = keras.Input((6,), name="v")
    first = layers.Dense(6, activation="tanh")
    head = layers.Dense(3, activation="softmax")
    block = keras.Sequential([keras.Input((6,)), layers.Dense(4, activation="relu"),
                              layers.Dense(5)], name="block")
    save(keras.Model(v, head(block(first(v)))), "nested",
         rng.standard_normal((3, 6)).astype("float32"))

    keras.backend.clear_session()
    u = keras.Input((5,), name="u")
    enc = layers.Dense(4, activation="tanh", name="enc")(u)
    gate = layers.Dense(4, activation="sigmoid", name="gate")(u)
    pair = keras.Model(u, layers.Multiply()([enc, gate]), name="pair")
    save(keras.Sequential([keras.Input((3,)), layers.Dense(5), pair, layers.Dense(2)]),
         "nested_seq", rng.standard_normal((3, 3)).astype("float32"))

    # `nested_chain`: a Sequential model in a Sequential one (the legacy file names its weights
    # `outer/block/dense/kernel`). `nested_func`: a functional model in a functional one, whose
    # call is the model's output (Keras counts that call from 1 in `output_layers`).
    keras.backend.clear_session()
    block = keras.Sequential([keras.Input((6,)), layers.Dense(4, activation="relu"),
                              layers.Dense(5)], name="block")
    save(keras.Sequential([keras.Input((6,)), block, layers.Dense(3, activation="softmax")],
                          name="outer"),
         "nested_chain", rng.standard_normal((3, 6)).astype("float32"))

    keras.backend.clear_session()
    u = keras.Input((5,), name="u")
    enc = layers.Dense(4, activation="tanh", name="enc")(u)
    gate = layers.Dense(4, activation="sigmoid", name="gate")(u)
    pair = keras.Model(u, layers.Multiply()([enc, gate]), name="pair")
    v = keras.Input((5,), name="v")
    save(keras.Model(v, pair(layers.Dense(5)(v))), "nested_func",
         rng.standard_normal((3, 5)).astype("float32"))


def main():
    # Optional arguments: shell-style patterns (`graph_*`) naming the fixtures to write; every
    # model is still built, for README.md, which is always written in full.
    patterns = sys.argv[1:] or ["*"]
    names = [spec["name"] for spec in MODELS + GRAPHS]
    for pat in patterns:
        if not fnmatch.filter(names, pat):
            sys.exit(f"no fixture matches {pat!r}; fixtures: {', '.join(names)}")
    OUT.mkdir(parents=True, exist_ok=True)
    check_activation_defaults()
    import_errors()
    special_graphs()
    versions = dict(keras=keras.__version__, tensorflow=tf.__version__,
                    numpy=np.__version__, safetensors=safetensors.__version__)
    rows, graph_rows = [], []
    for spec in MODELS + GRAPHS:
        write = any(fnmatch.fnmatchcase(spec["name"], pat) for pat in patterns)
        model, shapes, tensors = build(spec, write)
        params = ", ".join(f"`{k}` {list(v.shape)}" for k, v in tensors.items()
                           if not k.startswith("__"))
        if "graph" in spec:
            stages = "; ".join(f"{ref} {list(s)}" + (f" ← {', '.join(ins)}" if ins else "")
                               for ref, s, ins in shapes)
            graph_rows.append((spec, params, stages, tensors))
        else:
            stages = " → ".join([str(list(spec["input"]))]
                                + [f"{name} {list(s)}" for name, s, _ in shapes])
            rows.append((spec, params, stages, tensors))
        print(f"{spec['name']:<22} seed {spec['seed']}  in {list(tensors['__input__'].shape)}"
              f"  out {list(tensors['__output__'].shape)}" + ("" if write else "  (not written)"))

    lines = [
        "# Keras reference fixtures",
        "",
        "Forward-pass reference data computed by real Keras, consumed by `tests/forward_keras.rs`.",
        "Do not edit by hand; regenerate from the repository root with",
        "",
        "```sh",
        "pip install -r scripts/requirements-fixtures.txt",
        "python scripts/make_fixtures.py",
        "python scripts/make_fixtures.py 'graph_*'   # only the fixtures these patterns match",
        "```",
        "",
        "Generated with keras {keras}, tensorflow-cpu {tensorflow} (backend `tensorflow`), "
        "numpy {numpy}, safetensors {safetensors}.".format(**versions),
        "",
        "Each `<name>.safetensors` holds, all float32: every weight as `<keras layer name>/kernel`"
        " or `/bias` in Keras's layouts (Dense `[in, out]`, Conv2D `[kh, kw, in, out]`), set from"
        " `np.random.default_rng(seed)` (kernels normal × 0.5, recurrent kernels normal × 0.3,"
        " biases and betas normal × 0.1,"
        " gammas 1 + normal × 0.3, drawn layer by"
        " layer, kernel first); `__input__` `[3, *input]`, three samples drawn next from the same"
        " generator (normal × 1.5; × 3.0 more for `act_*`, × 2.0 for `lstm_options` and `gru_options`, × 0.2 for `graph_residual`, whose"
        " softmax would saturate otherwise); `__output__` `[3, *output]`,"
        " `model(x, training=False)`.",
        "",
        "| fixture | seed | kiln model | weights | shapes (Keras layer names) |",
        "|---|---|---|---|---|",
    ]
    for spec, params, stages, _ in rows:
        lines.append(f"| `{spec['name']}` | {spec['seed']} | `{spec['kiln']}` | {params} | {stages} |")
    lines += [
        "",
        "## Functional models (`graph_*`)",
        "",
        "Built as `keras.Model(keras.Input(input, name=…), output)` with layers called on values,"
        " the layers created in the order the kiln statements write them (a callee before its"
        " arguments, as Python evaluates `Dense(3)(Flatten()(x))`), so that Keras's automatic"
        " names are kiln's. The kiln column is the body of `kiln::model! { struct … { … } }`;"
        " the last column lists each layer application in the order it runs, as"
        " `<layer>[<application>][0] [shape] ← <inputs>` (the \"Connected to\" notation of both"
        " summaries). Weights are drawn in `model.layers` order; a shared layer's once.",
        "",
        "| fixture | seed | kiln model | weights | applications (Keras layer names) |",
        "|---|---|---|---|---|",
    ]
    for spec, params, stages, _ in graph_rows:
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
        "* `layer_norm`, `lstm`, `gru`, `simple_rnn` and `embedding` also hold a training check:"
        " `__train_target__` (random targets), `__train_losses__` (the losses of three"
        " `train_on_batch` steps after `compile(SGD(learning_rate=0.1), loss=\"mse\")`) and"
        " `__trained__/<layer>/<param>`, every weight after those steps.",
        "* Automatic layer names count per Keras session; the script calls"
        " `keras.backend.clear_session()` before each model so they restart at `dense`, `conv2d`."
        " Keras's variable `.path` is `sequential/<layer>/<param>`; the fixtures drop the"
        " `sequential/` prefix (`functional/` for the graphs).",
        "* A layer applied to several values keeps one set of weights, saved once under its name:"
        " in `graph_shared_dense`, `dense` is applied three times (to the input, to `dense_1`'s"
        " output and to its own first output) and its kernel and bias appear once.",
        "* `Concatenate(axis=k)` counts the batch as axis 0, as kiln does: on images `axis=1` joins"
        " along the height, `axis=2` along the width, and the default `-1` along the channels.",
        "* `Average` is the sum divided by the count; `Subtract` takes exactly two inputs. In"
        " `graph_merges` the three Dense outputs that `Maximum` and `Minimum` choose between are at"
        " least 1e-3 apart at every element of every sample (checked by the script), so no near"
        " tie decides an output.",
        "* `graph_two_inputs` has two `keras.Input`s: its `__input__` is `[3, 19]`, each sample's"
        " `image` (16 values) then `meta` (3) flattened, which is the layout of kiln's generated"
        " `GraphTwoInputsInput` struct (one field per input, in the order declared).",
        "* `graph_two_outputs` has three outputs (`aux` also read by a layer): its `__output__` is"
        " `[3, 7]`, each sample's `class` (4), `aux` (2) and `score` (1), the layout of kiln's"
        " generated `GraphTwoOutputsOutput` struct. It also holds one target per output"
        " (`__target_dense__` class indices, `__target_dense_1__` 0/1 values, `__target_dense_2__`"
        " reals) and `__losses__`: Keras's `evaluate` after `compile(loss={dense:"
        " sparse_categorical_crossentropy, dense_1: binary_crossentropy, dense_2:"
        " mean_squared_error}, loss_weights={1, 0.25, 0.5})`, the weighted total then each"
        " output's loss.",
        "",
        "`graph_shared.safetensors` is not from Keras and not written by this script: it is kiln's"
        " own `save_weights` of `Siamese::init(11)` (`tests/functional.rs`), which `SiameseEmbedded`"
        " embeds at compile time to check that a graph's weights (a shared layer's once) embed as"
        " they load.",
        "",
        "## Keras's own files (`keras/`)",
        "",
        "Each fixture's model is also saved, with the same weights and before any training step,"
        " in Keras's three formats: `keras/<name>.keras` (`model.save`, Keras 3's archive),"
        " `keras/<name>.weights.h5` (`model.save_weights`) and `keras/<name>.h5` (`model.save`,"
        " the legacy HDF5 model file). `tests/forward_keras.rs` reads each with"
        " `kiln::keras::load_weights` and checks that every parameter equals the safetensors"
        " fixture's, bit for bit.",
        "",
        "`keras/from_kiln/<name>.weights.h5` and `keras/from_kiln/<name>.keras` go the other way:"
        " kiln's `save_weights` and `save_keras` of each fixture's model (`KILN_WRITE_KERAS=1"
        " cargo test --release --test forward_keras`; `nested*.keras`, of the 4 nested models of"
        " `special/`, by `tests/keras_files.rs`). `python scripts/check_kiln_weights.py`"
        " loads each weights file into the Keras model with Keras's own `model.load_weights`,"
        " rebuilds each model from kiln's archive alone with `keras.saving.load_model` (its layers'"
        " names, classes and parameter counts must be the fixture model's), and checks Keras's"
        f" outputs from both against the fixture's; with keras 3.15.1 all {len(MODELS + GRAPHS)} of"
        " each (and the 4 nested archives) load and the outputs are equal (max abs diff 0)."
        " `tests/forward_keras.rs` checks that `save_keras` still writes the `config.json` of the"
        " committed archive, the one Keras rebuilt the model from.",
        "",
        "## int8 files (not from Keras)",
        "",
        "`int8_mixed.int8.safetensors` and `int8_graph.int8.safetensors` are `kiln::quantize`'s"
        " output (the `kiln-int8/1` layout in `src/quantize/file.rs`), checked byte for byte by the"
        " tests that embed them: `int8_mixed` for `tests/fixtures/int8_mixed.safetensors` on"
        " `inputs(200, 5)` (`tests/int8.rs`), `int8_graph` for `float_net()` in"
        " `tests/int8_graph.rs`, rewritten with `cargo test --test int8_graph -- --ignored`.",
        "",
    ]
    (OUT / "README.md").write_text("\n".join(lines))
    written = sum(any(fnmatch.fnmatchcase(n, pat) for pat in patterns) for n in names)
    print(f"wrote {written} of {len(names)} fixtures and README.md to {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
