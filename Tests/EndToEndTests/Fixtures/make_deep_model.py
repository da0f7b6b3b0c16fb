"""Writes a twelve-layer variant of a six-layer sentence-transformers BERT
directory, shaped as all-MiniLM-L12-v2 and e5-small-v2 are: layer i takes
the weights of layer i mod 6, and max_seq_length is 512 (the position
table's whole length), so long texts are truncated there. Mean pooling and
float32 are kept. The local provider's test of those configs runs on it.

    python3 make_deep_model.py SOURCE_DIR TARGET_DIR

Only the standard library (and safetensors_file.py beside it).
"""

import json
import os
import re
import shutil
import sys

import safetensors_file

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

header, data = safetensors_file.read(os.path.join(source, "model.safetensors"))
tensors = []
for name, entry in safetensors_file.tensors(header):
    start, end = entry["data_offsets"]
    copies = [name]
    layer = re.match(r"(.*encoder\.layer\.)(\d+)(\..*)", name)
    if layer:
        copies.append(f"{layer.group(1)}{int(layer.group(2)) + layers}{layer.group(3)}")
    for copy in copies:
        tensors.append((copy, entry["dtype"], entry["shape"], data[start:end]))
safetensors_file.write(os.path.join(target, "model.safetensors"), tensors)
