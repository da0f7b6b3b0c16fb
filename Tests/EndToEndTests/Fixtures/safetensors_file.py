"""Reads and writes safetensors files for the fixture scripts beside it,
with the standard library only: a u64 header length, a JSON header and the
raw little-endian data."""

import json
import struct


def read(path):
    """(header, data): the header's JSON and the bytes its offsets index."""
    with open(path, "rb") as f:
        (length,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(length))
        return header, f.read()


def tensors(header):
    """(name, entry) of every tensor in name order, without __metadata__."""
    return [(name, entry) for name, entry in sorted(header.items()) if name != "__metadata__"]


def write(path, items):
    """Writes (name, dtype, shape, raw bytes) tensors in the order given."""
    offset = 0
    header = {"__metadata__": {"format": "pt"}}
    for name, dtype, shape, raw in items:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
    encoded = json.dumps(header, separators=(",", ":")).encode()
    encoded += b" " * (-len(encoded) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(encoded)))
        f.write(encoded)
        for _, _, _, raw in items:
            f.write(raw)
