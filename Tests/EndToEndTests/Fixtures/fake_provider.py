#!/usr/bin/env python3
"""A command provider for tests: speaks embcache's JSON Lines protocol and
returns vectors that encode the SHA-512 of each text, so that a vector
given to the wrong record is visible. Faults on demand, by flag:

  --dim D            vector dimension (default 8)
  --delay S          sleep S seconds before each answer
  --count FILE       append one line per text embedded (to count calls)
  --die-after N      exit 3 when request N+1 arrives
  --hang-after N     stop answering after N requests
  --garbage-after N  answer request N+1 with a line that is not JSON
  --short-after N    answer request N+1 with one vector too few
  --error-after N    answer request N+1 with {"error": ...}
  --wrong-dim-after N  answer request N+1 with vectors one too long
  --extra-line-after N  after answering request N+1, write one more line
  --no-id            do not echo the request's "id" in answers
  --scale S          multiply every vector by S (to test normalisation)
"""
import argparse
import hashlib
import json
import struct
import sys
import time


def vector(text, dim):
    digest = hashlib.sha512(text.encode("utf-8")).digest()
    values = []
    for i in range(dim):
        (word,) = struct.unpack_from("<H", digest, (2 * i) % 63)
        values.append(round((word / 65535.0) * 2 - 1 + (i // 32) * 0.001, 6))
    if all(v == 0 for v in values):
        values[0] = 1.0
    return values


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dim", type=int, default=8)
    parser.add_argument("--delay", type=float, default=0)
    parser.add_argument("--count")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--no-id", action="store_true", help="answer without echoing the request id")
    for fault in ("die", "hang", "garbage", "short", "error", "wrong-dim", "extra-line"):
        parser.add_argument("--%s-after" % fault, type=int, default=-1)
    args = parser.parse_args()
    served = 0
    for line in sys.stdin.buffer:
        request = json.loads(line)
        texts = request["texts"]
        echo = {} if args.no_id or "id" not in request else {"id": request["id"]}
        if served == args.die_after:
            sys.exit(3)
        if served == args.hang_after:
            time.sleep(3600)
        if args.delay:
            time.sleep(args.delay)
        if served == args.garbage_after:
            sys.stdout.write("this is not json\n")
        elif served == args.error_after:
            sys.stdout.write(json.dumps({"error": "model exploded"}) + "\n")
        else:
            vectors = [[x * args.scale for x in vector(t, args.dim)] for t in texts]
            if served == args.short_after:
                vectors = vectors[:-1]
            if served == args.wrong_dim_after:
                vectors = [v + [0.5] for v in vectors]
            if args.count:
                with open(args.count, "a", encoding="utf-8") as counter:
                    for t in texts:
                        counter.write(hashlib.sha512(t.encode("utf-8")).hexdigest() + "\n")
            sys.stdout.write(json.dumps(dict(echo, embeddings=vectors)) + "\n")
            if served == args.extra_line_after:
                # A stale second answer, flushed apart so that it may reach
                # embcache only after the next request.
                sys.stdout.flush()
                time.sleep(0.05)
                sys.stdout.write(json.dumps(dict(echo, embeddings=[[9.0] * args.dim] * len(texts))) + "\n")
        sys.stdout.flush()
        served += 1


if __name__ == "__main__":
    main()
