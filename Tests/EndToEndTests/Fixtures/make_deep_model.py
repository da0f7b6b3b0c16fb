"""Writes a twelve-layer variant of a six-layer sentence-transformers BERT
directory, shaped as all-MiniLM-L12-v2 and e5-small-v2 are: layer i takes
the weights of layer i mod 6, and max_seq_length is 512 (the position
table's whole length), so long texts are truncated there. Mean pooling and
float32 are kept. The local provider's test of those configs runs on it.

    python3 make_deep_model.py SOURCE_DIR TARGET_DIR

Only the standard library: the safetensors format is a u64 header length,
a JSON header and the raw little-endian data.
"""

import json
import os
import re
import shutil
import struct
import sys

source, target = sys.argv[1], sys.argv[2]
shutil.copytree(source, target, dirs_exist_ok=True)
with open(os.path.join(source, "config.json")) as f:
    config = json.load(f)
layers = config["num_hidden_layers"]
config["num_hidden_layers"] = 2 * layers
with open(os.path.join(target, "config.json"), "w") as f:
    json.dump(config, f, indent=2)
with open(os.path.join(target, "sentence_bert_config.json"), "w") as f:
    json.dump({"max_seq_length": config["max_position_embeddings"], "do_lower_case": False}, f, indent=2)

with open(os.path.join(source, "model.safetensors"), "rb") as f:
    (length,) = struct.unpack("<Q", f.read(8))
    header = json.loads(f.read(length))
    data = f.read()
tensors = []
for name, entry in sorted(header.items()):
    if name == "__metadata__":
        continue
    start, end = entry["data_offsets"]
    copies = [name]
    layer = re.match(r"(.*encoder\.layer\.)(\d+)(\..*)", name)
    if layer:
        copies.append(f"{layer.group(1)}{int(layer.group(2)) + layers}{layer.group(3)}")
    for copy in copies:
        tensors.append((copy, entry["dtype"], entry["shape"], data[start:end]))

offset = 0
out_header = {"__metadata__": {"format": "pt"}}
for name, dtype, shape, raw in tensors:
    out_header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(raw)]}
    offset += len(raw)
encoded = json.dumps(out_header, separators=(",", ":")).encode()
encoded += b" " * (-len(encoded) % 8)
with open(os.path.join(target, "model.safetensors"), "wb") as f:
    f.write(struct.pack("<Q", len(encoded)))
    f.write(encoded)
    for _, _, _, raw in tensors:
        f.write(raw)
