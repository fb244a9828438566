#!/usr/bin/env python3
"""Finds MNIST for scripts/bench_peers.sh and prints the folder holding its four gzipped IDX
files, the form every program there reads (kiln reads them too).

Usage: mnist_files.py WORK_DIR CANDIDATE...

Each candidate is a folder with the IDX files (gzipped, or plain: those are gzipped into
WORK_DIR) or Keras's `mnist.npz` (converted into WORK_DIR). The first that has them wins. No
downloads: exits non-zero, saying where it looked, when none has them.
"""
import gzip, io, os, struct, sys, zipfile

NAMES = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte",
         "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]
NPZ_KEYS = ["x_train", "y_train", "x_test", "y_test"]


def npy_uint8(raw):
    """The shape and bytes of a uint8 .npy array (the npz's members), without numpy."""
    assert raw[:6] == b"\x93NUMPY", "not an .npy array"
    major = raw[6]
    hlen, start = (struct.unpack("<H", raw[8:10])[0], 10) if major == 1 else (struct.unpack("<I", raw[8:12])[0], 12)
    header = eval(raw[start:start + hlen].decode("latin1"))  # a Python dict literal, by the format
    assert header["descr"] in ("|u1", "<u1") and not header["fortran_order"], header
    return header["shape"], raw[start + hlen:]


def write_gz(path, data):
    with gzip.open(path, "wb", compresslevel=1) as f:
        f.write(data)


work, candidates = sys.argv[1], [c for c in sys.argv[2:] if c]
for d in candidates:
    if all(os.path.isfile(os.path.join(d, n + ".gz")) for n in NAMES):
        print(os.path.abspath(d))
        sys.exit(0)
    if all(os.path.isfile(os.path.join(d, n)) for n in NAMES):
        os.makedirs(work, exist_ok=True)
        for n in NAMES:
            write_gz(os.path.join(work, n + ".gz"), open(os.path.join(d, n), "rb").read())
        print(os.path.abspath(work))
        sys.exit(0)
    npz = os.path.join(d, "mnist.npz")
    if os.path.isfile(npz):
        os.makedirs(work, exist_ok=True)
        with zipfile.ZipFile(npz) as z:
            for name, key in zip(NAMES, NPZ_KEYS):
                shape, data = npy_uint8(z.read(key + ".npy"))
                magic = 0x0800 | len(shape)  # unsigned bytes, rank
                write_gz(os.path.join(work, name + ".gz"), struct.pack(">I" + "I" * len(shape), magic, *shape) + data)
        print(os.path.abspath(work))
        sys.exit(0)
sys.exit("MNIST not found in: " + ", ".join(candidates) +
         " (each would need the four IDX files, gzipped or not, or Keras's mnist.npz); set MNIST_DIR")
