#!/usr/bin/env python3
"""Writes a few small valid IDX files into fuzz/seeds/idx/, as a seed corpus for
`cargo +nightly fuzz run idx fuzz/corpus/idx fuzz/seeds/idx`. Pairs end with the
offset (u16, little-endian) where the labels start, as the fuzz target reads it."""
import gzip, os, struct

here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "idx")
os.makedirs(here, exist_ok=True)

def idx(dims, data):
    return bytes([0, 0, 8, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + bytes(data)

labels = idx([3], [0, 9, 4])
image = idx([1, 28, 28], [(i * 7) % 256 for i in range(784)])
pair = image + idx([1], [7])
files = {
    "labels": labels,
    "labels.gz": gzip.compress(labels, mtime=0),
    "image": image,
    "image.gz": gzip.compress(image, mtime=0),
    "rank2": idx([2, 3], range(6)),
    "pair": pair + struct.pack("<H", len(image)),
    "pair.gz": gzip.compress(image, mtime=0) + gzip.compress(idx([1], [7]), mtime=0)
    + struct.pack("<H", len(gzip.compress(image, mtime=0))),
}
for name, data in files.items():
    with open(os.path.join(here, name), "wb") as f:
        f.write(data)
