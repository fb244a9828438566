"""kiln -> Keras: load the weights files kiln wrote into the Keras models they came from.

`KILN_WRITE_KERAS=1 cargo test --release --test forward_keras` writes, for every fixture of
`make_fixtures.py`, kiln's `save_weights("<name>.weights.h5")` of the model it loaded from that
fixture into `tests/fixtures/keras/from_kiln/`. This script builds each fixture's Keras model,
zeroes its weights, reads kiln's file with Keras's own `model.load_weights`, and checks that
Keras's outputs equal the fixture's (which Keras computed from the original weights).

    python scripts/check_kiln_weights.py        # from the repository root, in the fixture venv
"""
import os
import sys
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(__file__))
import numpy as np  # noqa: E402

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
        x = tensors["__input__"]
        if "inputs" in spec:
            parts, at = [], 0
            for _, shape in spec["inputs"]:
                n = int(np.prod(shape))
                parts.append(x[:, at:at + n].reshape(-1, *shape))
                at += n
            x = parts
        y = model(x, training=False)
        if isinstance(y, (list, tuple)):
            y = np.concatenate([np.asarray(v).reshape(len(v), -1) for v in y], axis=1)
        diff = float(np.abs(np.asarray(y) - tensors["__output__"]).max())
        if not diff <= 1e-6:
            sys.exit(f"{spec['name']}: Keras's outputs from kiln's file differ by {diff:e}")
        worst, checked = max(worst, diff), checked + 1
    print(f"kiln -> Keras: {checked} weights files loaded by Keras {mf.keras.__version__}; "
          f"outputs equal the fixtures' (max abs diff {worst:e})")


if __name__ == "__main__":
    main()
