"""Made variant-expected.jsonl once, with sentence-transformers on PyTorch
(CPU, float32: the float16 weights widened as embcache widens them), from
the directory make_variant_model.py wrote; not run by the tests.

    python make_variant_expected.py VARIANT_DIR TEXTS_JSONL [COUNT] > variant-expected.jsonl

COUNT texts from the start (16); deep-expected.jsonl, of make_deep_model.py's
directory, was made with all 30.
"""

import json
import sys

import sentence_transformers
import torch

model = sentence_transformers.SentenceTransformer(
    sys.argv[1], device="cpu", model_kwargs={"torch_dtype": torch.float32})
records = [json.loads(line) for line in open(sys.argv[2])][: int(sys.argv[3]) if len(sys.argv) > 3 else 16]
vectors = model.encode([r["text"] for r in records], normalize_embeddings=True)
for record, vector in zip(records, vectors):
    print(json.dumps({"id": record["id"], "embedding": [float(x) for x in vector]}))
print(f"sentence-transformers {sentence_transformers.__version__}, torch {torch.__version__}", file=sys.stderr)
