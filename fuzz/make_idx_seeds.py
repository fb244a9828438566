#!/usr/bin/env python3
"""Writes the IDX seeds into fuzz/corpus/idx/seed_*: small valid image and label files, raw and
gzipped, plus the first 3 images of MNIST's t10k images (header count set to 3) and its whole
t10k labels, when ../shared/data/mnist (or $KILN_DATA_DIR/mnist) is there."""
import gzip
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus", "idx")
DATA = os.path.join(os.environ.get("KILN_DATA_DIR", os.path.join(HERE, "..", "..", "shared", "data")), "mnist")


def idx(magic, dims, data):
    return struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in dims) + bytes(data)


def write(name, data):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)
    # mtime 0 so the gzip bytes do not change from run to run
    with open(os.path.join(OUT, name + ".gz"), "wb") as f:
        f.write(gzip.compress(data, mtime=0))


os.makedirs(OUT, exist_ok=True)
write("seed_images_2x28x28.idx", idx(0x803, [2, 28, 28], [(i * 7) % 256 for i in range(2 * 784)]))
write("seed_images_0x28x28.idx", idx(0x803, [0, 28, 28], []))
write("seed_labels_5.idx", idx(0x801, [5], [0, 9, 3, 7, 1]))
images = os.path.join(DATA, "t10k-images-idx3-ubyte.gz")
labels = os.path.join(DATA, "t10k-labels-idx1-ubyte.gz")
if os.path.exists(images):
    with gzip.open(images) as f:
        head = f.read(16 + 3 * 784)
    magic, n, h, w = struct.unpack(">IIII", head[:16])
    write("seed_mnist_t10k_images_first3.idx", idx(magic, [3, h, w], head[16:]))
if os.path.exists(labels):
    with open(labels, "rb") as f:
        gz = f.read()
    with open(os.path.join(OUT, "seed_mnist_t10k_labels.idx.gz"), "wb") as f:
        f.write(gz)
    with open(os.path.join(OUT, "seed_mnist_t10k_labels.idx"), "wb") as f:
        f.write(gzip.decompress(gz))
for name in sorted(os.listdir(OUT)):
    if name.startswith("seed_"):
        print(name, os.path.getsize(os.path.join(OUT, name)))
