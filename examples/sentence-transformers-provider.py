#!/usr/bin/env python3
"""embcache command provider running a sentence-transformers model.

    embcache --provider command --model all-MiniLM-L6-v2 \
        --command 'python3 examples/sentence-transformers-provider.py all-MiniLM-L6-v2' < docs.jsonl

Reads one request per line on stdin, {"id": N, "texts": [...]}, and answers
each with one line, {"id": N, "embeddings": [[...], ...]}, in the same order
(echoing the id lets embcache tell a stray line from the answer). The model loads
once and serves the whole run. Needs `pip install sentence-transformers`.
Vectors are returned as the model computes them (embcache normalises its
output); give --normalize to store unit vectors, as the Python
embeddingcache package does.
"""
import argparse
import json
import sys


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model", help="model name or path, as SentenceTransformer() takes it")
    parser.add_argument("--device", default=None, help="cpu, cuda, mps (default: the library's choice)")
    parser.add_argument("--normalize", action="store_true", help="store unit-length vectors")
    args = parser.parse_args()

    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(args.model, device=args.device)
    for line in sys.stdin.buffer:
        try:
            request = json.loads(line)
            vectors = model.encode(request["texts"], normalize_embeddings=args.normalize, convert_to_numpy=True)
            answer = {"id": request.get("id"), "embeddings": [[float(x) for x in row] for row in vectors]}
        except Exception as error:  # report, do not die: embcache names the message
            answer = {"error": "%s: %s" % (type(error).__name__, error)}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
