#!/usr/bin/env python3
"""Copies the Python peer programs (bench_keras.py, bench_torch.py, mnist_idx.py) from
../shared/peers/python into a build folder, with the few edits scripts/bench_peers.sh needs:

- the thread count from $THREADS instead of a fixed 2;
- the training-set size from the data instead of a fixed 60000, and $MNIST_LIMIT to train on
  fewer images (QUICK=1 smoke runs);
- the number of timed batch-1 calls from $LATENCY_RUNS instead of a fixed 1000.

With the defaults the programs do exactly what the originals do. Usage:
copy_python_peers.py SRC_DIR DST_DIR; exits non-zero, naming the edit, if a program changed so
that an edit no longer applies.
"""
import pathlib, sys

THREADS = ('THREADS = 2\n', 'THREADS = int(os.environ.get("THREADS", "2"))\n')
LATENCY = ('def med_us(fn, n=1000, warm=50):',
           'def med_us(fn, n=int(os.environ.get("LATENCY_RUNS", "1000")), warm=50):')
EDITS = {
    "bench_keras.py": [
        THREADS,
        ('imgs_after = 60000 - WARM * BS', 'imgs_after = len(x_tr) - WARM * BS'),
        LATENCY,
    ],
    "bench_torch.py": [
        THREADS,
        ('perm = torch.randperm(60000)', 'perm = torch.randperm(len(x_tr))'),
        ('for i in range(0, 60000, BS):', 'for i in range(0, len(x_tr), BS):'),
        ('steady = (60000 - WARM * BS)', 'steady = (len(x_tr) - WARM * BS)'),
        LATENCY,
    ],
    "mnist_idx.py": [
        ('    return x_tr, y_tr, x_te, y_te\n',
         '    n = int(os.environ.get("MNIST_LIMIT", "60000"))\n'
         '    return x_tr[:n], y_tr[:n], x_te, y_te\n'),
    ],
}

src, dst = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
dst.mkdir(parents=True, exist_ok=True)
for name, edits in EDITS.items():
    text = (src / name).read_text()
    for old, new in edits:
        if text.count(old) != 1:
            sys.exit(f"{src / name}: expected `{old.strip()}` once, found it {text.count(old)} times")
        text = text.replace(old, new)
    (dst / name).write_text(text)
print("copied", ", ".join(EDITS), "to", dst)
