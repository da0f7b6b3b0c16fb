# Writes mpnet-expected.jsonl: the vectors sentence-transformers gives with
# the real all-mpnet-base-v2 (the directory Scripts/fetch-mpnet-model
# fetches) for texts.jsonl, which the opt-in test EMBCACHE_TEST_MPNET=1
# compares embcache's with. Not run by the tests; the same venv as
# make_encoder_models.py:
#   v/bin/python make_mpnet_expected.py "$(Scripts/fetch-mpnet-model)"
import json, os, sys
from sentence_transformers import SentenceTransformer

here = os.path.dirname(os.path.abspath(__file__))
model = SentenceTransformer(sys.argv[1], device="cpu")
texts = [json.loads(line)["text"] for line in open(os.path.join(here, "texts.jsonl"), encoding="utf-8")]
vectors = model.encode(texts, batch_size=8, convert_to_numpy=True)
tokens = [len(model.tokenize([t])["input_ids"][0]) for t in texts]
with open(os.path.join(here, "mpnet-expected.jsonl"), "w") as out:
    for i, (text, count, vector) in enumerate(zip(texts, tokens, vectors.tolist())):
        out.write(json.dumps({"id": i, "tokens": count, "embedding": [float("%.9g" % x) for x in vector]}) + "\n")
