#!/usr/bin/env python3
"""The hash-<d> embedder written again from its documented definition
(HashEmbedder.swift, embcache(1)), independently of the Swift code. Reads
texts as JSON Lines {"text": ...} on stdin and writes the float32 vectors,
little-endian, to stdout."""
import json
import math
import struct
import sys

MASK = (1 << 64) - 1


def fnv(data, h=0xCBF29CE484222325):
    for b in data:
        h ^= b
        h = (h * 0x100000001B3) & MASK
    return h


def splitmix(z):
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return z ^ (z >> 31)


def embed(text, d):
    data = bytes(b | 0x20 if 0x41 <= b <= 0x5A else b for b in text.encode("utf-8"))
    sums = [0.0] * d

    def add(h, w):
        m = splitmix(h)
        sums[m % d] += w if m >> 63 == 0 else -w

    def is_word(b):
        return b >= 0x80 or 0x30 <= b <= 0x39 or 0x61 <= b <= 0x7A

    words, start = [], None
    for i in range(len(data) + 1):
        w = i < len(data) and is_word(data[i])
        if w and start is None:
            start = i
        if not w and start is not None:
            words.append(data[start:i])
            start = None
    for word in words:
        add(fnv(b"w:" + word), 1.0)
    for a, b in zip(words, words[1:]):
        add(fnv(b"b:" + a + b" " + b), 1.0)
    chars = (" " + data.decode("utf-8") + " ")
    for i in range(len(chars) - 2):
        add(fnv(b"c:" + chars[i:i + 3].encode("utf-8")), 0.5)
    norm = math.sqrt(sum(x * x for x in sums))
    if norm == 0:
        return [1.0] + [0.0] * (d - 1)
    return [x / norm for x in sums]


def main():
    d = int(sys.argv[1])
    out = sys.stdout.buffer
    for line in sys.stdin:
        out.write(struct.pack("<%df" % d, *embed(json.loads(line)["text"], d)))


if __name__ == "__main__":
    main()
