"""kiln -> Keras: load the files kiln wrote into Keras.

`KILN_WRITE_KERAS=1 cargo test --release --test forward_keras` writes, for every fixture of
`make_fixtures.py`, kiln's `save_weights("<name>.weights.h5")` and `save_keras("<name>.keras")`
of the model it loaded from that fixture into `tests/fixtures/keras/from_kiln/`. This script
 - builds each fixture's Keras model, zeroes its weights and reads kiln's weights file with
   Keras's own `model.load_weights`;
 - rebuilds the model from kiln's `.keras` archive alone with `keras.saving.load_model`, and
   checks its layers (names, classes, parameter counts) against the fixture's model;
and checks that both give the fixture's outputs (which Keras computed from the original weights).

    python scripts/check_kiln_weights.py        # from the repository root, in the fixture venv
"""
import os
import sys
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(__file__))
import numpy as np  # noqa: E402
from safetensors.numpy import load_file  # noqa: E402

import make_fixtures as mf  # noqa: E402

# Fixtures trained by make_fixtures have an optimizer; a weights file has none.
warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")


def main():
    src = mf.OUT / "keras" / "from_kiln"
    worst, checked = 0.0, 0
    for spec in mf.MODELS + mf.GRAPHS:
        path = src / f"{spec['name']}.weights.h5"
        if not path.exists():
            sys.exit(f"{path} is missing: run KILN_WRITE_KERAS=1 cargo test --test forward_keras")
        model, _, tensors = mf.build(spec, write=False)
        for w in model.weights:
            w.assign(np.zeros(w.shape, dtype=w.dtype))
        model.load_weights(str(path))
        archive = src / f"{spec['name']}.keras"
        if not archive.exists():
            sys.exit(f"{archive} is missing: run KILN_WRITE_KERAS=1 cargo test --test forward_keras")
        rebuilt = mf.keras.saving.load_model(str(archive))
        mine = [(l.name, type(l).__name__, l.count_params()) for l in rebuilt.layers]
        theirs = [(l.name, type(l).__name__, l.count_params()) for l in model.layers]
        if mine != theirs:
            sys.exit(f"{archive}: Keras rebuilt layers {mine}, not the fixture's {theirs}")
        x = tensors["__input__"]
        if "inputs" in spec:
            parts, at = [], 0
            for _, shape in spec["inputs"]:
                n = int(np.prod(shape))
                parts.append(x[:, at:at + n].reshape(-1, *shape))
                at += n
            x = parts
        for m, what in [(model, "weights file"), (rebuilt, ".keras archive")]:
            y = m(x, training=False)
            if isinstance(y, (list, tuple)):
                y = np.concatenate([np.asarray(v).reshape(len(v), -1) for v in y], axis=1)
            diff = float(np.abs(np.asarray(y) - tensors["__output__"]).max())
            if not diff <= 1e-6:
                sys.exit(f"{spec['name']}: Keras's outputs from kiln's {what} differ by {diff:e}")
            worst = max(worst, diff)
        checked += 1
    # Nested models (`tests/keras_files.rs` writes these from the `special/` fixtures).
    for name in ["nested", "nested_seq", "nested_chain", "nested_func"]:
        archive = src / f"{name}.keras"
        if not archive.exists():
            sys.exit(f"{archive} is missing: run KILN_WRITE_KERAS=1 cargo test --test keras_files")
        rebuilt = mf.keras.saving.load_model(str(archive))
        original = mf.keras.saving.load_model(str(mf.KERAS_OUT / "special" / f"{name}.keras"))
        mine = [(type(l).__name__, l.count_params()) for l in rebuilt.layers]
        theirs = [(type(l).__name__, l.count_params()) for l in original.layers]
        if mine != theirs:
            sys.exit(f"{archive}: Keras rebuilt layers {mine}, not the fixture's {theirs}")
        io = load_file(str(mf.KERAS_OUT / "special" / f"{name}.io.safetensors"))
        diff = float(np.abs(np.asarray(rebuilt(io["x"], training=False)) - io["y"]).max())
        if not diff <= 1e-6:
            sys.exit(f"{name}: Keras's outputs from kiln's .keras archive differ by {diff:e}")
        worst, checked = max(worst, diff), checked + 1
    print(f"kiln -> Keras: {checked} .keras archives ({checked - 4} with weights files too) loaded "
          f"by Keras {mf.keras.__version__}; outputs equal the fixtures' (max abs diff {worst:e})")


if __name__ == "__main__":
    main()
