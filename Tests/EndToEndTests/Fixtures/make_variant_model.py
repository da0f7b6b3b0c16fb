"""Writes a variant of a sentence-transformers BERT directory: weights in
float16 under names with the `bert.` prefix, and CLS pooling in place of
mean pooling. The local provider's test of those paths runs on it.

    python3 make_variant_model.py SOURCE_DIR TARGET_DIR

Only the standard library and numpy: the safetensors format is a u64
header length, a JSON header and the raw little-endian data.
"""

import json
import os
import shutil
import struct
import sys

import numpy

source, target = sys.argv[1], sys.argv[2]
os.makedirs(os.path.join(target, "1_Pooling"), exist_ok=True)
for name in ["config.json", "tokenizer.json", "vocab.txt", "tokenizer_config.json", "special_tokens_map.json",
             "modules.json", "sentence_bert_config.json"]:
    shutil.copy(os.path.join(source, name), os.path.join(target, name))

with open(os.path.join(source, "1_Pooling", "config.json")) as f:
    pooling = json.load(f)
for key in list(pooling):
    if key.startswith("pooling_mode_"):
        pooling[key] = key == "pooling_mode_cls_token"
with open(os.path.join(target, "1_Pooling", "config.json"), "w") as f:
    json.dump(pooling, f, indent=2)

with open(os.path.join(source, "model.safetensors"), "rb") as f:
    (length,) = struct.unpack("<Q", f.read(8))
    header = json.loads(f.read(length))
    data = f.read()

dtypes = {"F32": "<f4", "I64": "<i8"}
tensors = []
for name, entry in sorted(header.items()):
    if name == "__metadata__":
        continue
    start, end = entry["data_offsets"]
    array = numpy.frombuffer(data[start:end], dtype=dtypes[entry["dtype"]]).reshape(entry["shape"])
    if entry["dtype"] == "F32":
        array, dtype = array.astype("<f2"), "F16"
    else:
        dtype = entry["dtype"]
    tensors.append(("bert." + name, dtype, list(array.shape), array.tobytes()))

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
