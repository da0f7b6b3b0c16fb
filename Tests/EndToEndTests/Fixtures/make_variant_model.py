"""Writes a variant of a sentence-transformers BERT directory: weights in
float16 under names with the `bert.` prefix, and CLS pooling in place of
mean pooling. The local provider's test of those paths runs on it.

    python3 make_variant_model.py SOURCE_DIR TARGET_DIR

Only the standard library, numpy and safetensors_file.py beside it.
"""

import json
import os
import shutil
import sys

import numpy
import safetensors_file

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

header, data = safetensors_file.read(os.path.join(source, "model.safetensors"))
dtypes = {"F32": "<f4", "I64": "<i8"}
tensors = []
for name, entry in safetensors_file.tensors(header):
    start, end = entry["data_offsets"]
    array = numpy.frombuffer(data[start:end], dtype=dtypes[entry["dtype"]]).reshape(entry["shape"])
    if entry["dtype"] == "F32":
        array, dtype = array.astype("<f2"), "F16"
    else:
        dtype = entry["dtype"]
    tensors.append(("bert." + name, dtype, list(array.shape), array.tobytes()))
safetensors_file.write(os.path.join(target, "model.safetensors"), tensors)
