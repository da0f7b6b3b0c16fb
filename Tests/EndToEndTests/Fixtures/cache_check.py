#!/usr/bin/env python3
"""Checks what embcache left behind against the fake provider's vectors,
through Python's own sqlite3 and json, never through embcache's code.
Each subcommand prints one JSON object; "problems" lists what is wrong
(the first 20), empty when all is well.

  cache DIR --model M --dim D
      Opens hashstring.sqlite and the model file read-only (the -wal a
      killed run left is read, not checkpointed) and checks: integrity_check
      is ok; no duplicate hashid in either table; every hashid is the
      SHA-512 of its text; every vector has its text and is exactly the fake
      provider's vector of that text as float32; the metadata names M and D.
      Also prints "committed": the hex hashids that have a vector, and with
      --input FILE (JSON Lines), "missing": the hex keys of the distinct
      texts of FILE that have none, and "input_keys": all of them.

  rows INPUT OUTPUT --dim D [--format jsonl|f32] [--no-normalize]
       [--allow-null] [--prefix] [--lines]
      Output row i must be the fake provider's vector of input record i's
      text (exactly with --no-normalize, else L2-normalised within 1e-6).
      --prefix accepts fewer rows than records (a run that stopped early);
      --allow-null accepts null vectors.

  corrupt DIR --file F --dim D --share S --seed N
      Replaces a share S of the vectors of model file F by bad blobs (wrong
      size, empty, NaN, infinity, NULL) and prints their hex hashids.

  lines OUTPUT... --dim D [--field F]
      Every line of each output is a JSON object; each non-null vector is
      the normalised fake vector of that same line's text field. Also
      prints "texts": the hex UTF-8 of the text of each line with a vector.
"""
import argparse
import hashlib
import json
import math
import os
import sqlite3
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
if hasattr(sys, "set_int_max_str_digits"):
    sys.set_int_max_str_digits(0)  # records may hold numbers of any length
from fake_provider import vector  # noqa: E402


def f32(values):
    return list(struct.unpack("<%df" % len(values), struct.pack("<%df" % len(values), *values)))


def expected(text, dim, normalize):
    values = f32(vector(text, dim))
    if not normalize:
        return values
    norm = math.sqrt(sum(v * v for v in values))
    return [v / norm for v in values] if norm else values


def matches(got, want, exact):
    if len(got) != len(want):
        return False
    if exact:
        return f32(got) == want
    return all(abs(g - w) <= 1e-6 for g, w in zip(got, want))


def connect(path):
    db = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
    db.text_factory = bytes
    return db


def corrupt(args):
    """Replaces a random share of the stored vectors by bad ones (too short,
    too long, empty, NaN, infinity, NULL) and prints their hex hashids."""
    import random

    chooser = random.Random(args.seed)
    db = sqlite3.connect(os.path.join(args.dir, args.file))
    rows = [row[0] for row in db.execute("select hashid from embedding order by hashid")]
    bad = [
        b"\x00" * (4 * args.dim - 4),
        b"\x00" * (4 * args.dim + 4),
        b"",
        struct.pack("<%df" % args.dim, *([float("nan")] * args.dim)),
        struct.pack("<%df" % args.dim, *([float("inf")] + [0.0] * (args.dim - 1))),
        None,
    ]
    chosen = chooser.sample(rows, int(len(rows) * args.share))
    for hashid in chosen:
        db.execute("update embedding set embedding = ? where hashid = ?", (chooser.choice(bad), hashid))
    db.commit()
    print(json.dumps([hashid.hex() for hashid in chosen]))


def check_cache(args):
    problems = []
    texts = {}
    committed = []
    hs_path = os.path.join(args.dir, "hashstring.sqlite")
    names = os.listdir(args.dir) if os.path.isdir(args.dir) else []
    model_files = [name for name in names if name.startswith("embedding-") and name.endswith(".sqlite")]
    if os.path.exists(hs_path):
        hs = connect(hs_path)
        ok = hs.execute("pragma integrity_check").fetchone()[0]
        if ok != b"ok":
            problems.append("hashstring integrity: %r" % ok)
        # A kill in start-up can come between creating the file and its table.
        has_table = hs.execute("select 1 from sqlite_master where type = 'table' and name = 'hashstring'").fetchone()
        rows = "from hashstring" if has_table else "from (select null as hashid, null as text where 0)"
        total, distinct = hs.execute("select count(*), count(distinct hashid) " + rows).fetchone()
        if total != distinct:
            problems.append("hashstring has %d rows for %d hashids" % (total, distinct))
        for hashid, text in hs.execute("select hashid, text " + rows):
            if not isinstance(hashid, bytes) or len(hashid) != 64:
                problems.append("hashstring hashid of %r" % (hashid,))
            elif hashlib.sha512(text).digest() != hashid:
                problems.append("hashstring %s holds another text" % hashid.hex()[:16])
            texts[hashid] = text
    vectors = 0
    for name in model_files:
        db = connect(os.path.join(args.dir, name))
        ok = db.execute("pragma integrity_check").fetchone()[0]
        if ok != b"ok":
            problems.append("%s integrity: %r" % (name, ok))
        tables = {row[0] for row in db.execute("select name from sqlite_master where type = 'table'")}
        if b"embcache_metadata" in tables:
            meta = dict(db.execute("select key, value from embcache_metadata"))
            if meta.get(b"model") not in (None, args.model.encode()):
                problems.append("%s metadata names model %r" % (name, meta.get(b"model")))
            if meta.get(b"dimension") not in (None, str(args.dim).encode()):
                problems.append("%s metadata says dimension %r" % (name, meta.get(b"dimension")))
        if b"embedding" not in tables:
            continue
        total, distinct = db.execute("select count(*), count(distinct hashid) from embedding").fetchone()
        if total != distinct:
            problems.append("%s has %d rows for %d hashids" % (name, total, distinct))
        for hashid, blob in db.execute("select hashid, embedding from embedding"):
            vectors += 1
            committed.append(hashid.hex())
            text = texts.get(hashid)
            if text is None:
                problems.append("vector %s has no text in hashstring" % hashid.hex()[:16])
                continue
            want = struct.pack("<%df" % args.dim, *vector(text.decode("utf-8"), args.dim))
            if blob != want:
                problems.append("vector %s is not its text's" % hashid.hex()[:16])
    report = {"problems": problems[:20], "texts": len(texts), "vectors": vectors, "committed": committed}
    if args.input:
        have = set(committed)
        keys = {hashlib.sha512(text.encode("utf-8")).hexdigest() for text in records(args.input, False)}
        report["missing"] = sorted(keys - have)
        report["input_keys"] = sorted(keys)
    print(json.dumps(report))


def records(path, lines_mode):
    with open(path, "rb") as source:
        data = source.read()
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    result = []
    for raw in data.split(b"\n"):
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        if lines_mode:
            if raw:
                result.append(raw.decode("utf-8"))
        elif raw.strip(b" \t\r"):
            result.append(json.loads(raw)["text"])
    return result


def check_rows(args):
    problems = []
    texts = records(args.input, args.lines)
    normalize = not args.no_normalize
    with open(args.output, "rb") as source:
        data = source.read()
    if args.format == "f32":
        width = 4 * args.dim
        if len(data) % width and not args.prefix:
            problems.append("output of %d bytes is not whole rows" % len(data))
        rows = [list(struct.unpack("<%df" % args.dim, data[i : i + width])) for i in range(0, len(data) - width + 1, width)]
    else:
        lines = data.split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()
        elif args.prefix and lines:
            lines.pop()  # a partial last line of a run that was killed
        rows = []
        for i, line in enumerate(lines):
            record = json.loads(line)
            if i < len(texts) and record.get("text") != texts[i]:
                problems.append("row %d carries the record of another text" % (i + 1))
            rows.append(record.get("embedding"))
    if len(rows) > len(texts) or (len(rows) < len(texts) and not args.prefix):
        problems.append("%d rows for %d records" % (len(rows), len(texts)))
    nulls = 0
    for i, (row, text) in enumerate(zip(rows, texts)):
        if row is None:
            nulls += 1
            if not args.allow_null:
                problems.append("row %d is null" % (i + 1))
        elif not matches(row, expected(text, args.dim, normalize), not normalize):
            problems.append("row %d is not the vector of its text" % (i + 1))
    print(json.dumps({"problems": problems[:20], "rows": len(rows), "nulls": nulls}))


def check_lines(args):
    problems = []
    vectors = nulls = lines = 0
    texts = []
    for path in args.outputs:
        with open(path, "rb") as source:
            data = source.read()
        if data and not data.endswith(b"\n"):
            problems.append("%s: last line has no newline" % path)
        for number, line in enumerate(data.split(b"\n")[:-1], 1):
            lines += 1
            try:
                record = json.loads(line)
            except ValueError as error:
                problems.append("%s:%d: not JSON: %s" % (path, number, error))
                continue
            if not isinstance(record, dict) or args.field not in record:
                problems.append("%s:%d: no %s field" % (path, number, args.field))
                continue
            got = record[args.field]
            if got is None:
                nulls += 1
                continue
            vectors += 1
            text = record.get("text")
            texts.append(text.encode("utf-8").hex() if isinstance(text, str) else "")
            if not isinstance(text, str) or not matches(got, expected(text, args.dim, True), False):
                problems.append("%s:%d: vector is not its text's" % (path, number))
    print(json.dumps({"problems": problems[:20], "lines": lines, "vectors": vectors, "nulls": nulls, "texts": texts}))


def main():
    parser = argparse.ArgumentParser()
    commands = parser.add_subparsers(dest="command", required=True)
    cache = commands.add_parser("cache")
    cache.add_argument("dir")
    cache.add_argument("--model", required=True)
    cache.add_argument("--dim", type=int, required=True)
    cache.add_argument("--input")
    rows = commands.add_parser("rows")
    rows.add_argument("input")
    rows.add_argument("output")
    rows.add_argument("--dim", type=int, required=True)
    rows.add_argument("--format", default="jsonl")
    rows.add_argument("--no-normalize", action="store_true")
    rows.add_argument("--allow-null", action="store_true")
    rows.add_argument("--prefix", action="store_true")
    rows.add_argument("--lines", action="store_true")
    lines = commands.add_parser("lines")
    lines.add_argument("outputs", nargs="+")
    lines.add_argument("--dim", type=int, required=True)
    lines.add_argument("--field", default="embedding")
    damage = commands.add_parser("corrupt")
    damage.add_argument("dir")
    damage.add_argument("--file", required=True)
    damage.add_argument("--dim", type=int, required=True)
    damage.add_argument("--share", type=float, required=True)
    damage.add_argument("--seed", type=int, required=True)
    args = parser.parse_args()
    {"cache": check_cache, "rows": check_rows, "lines": check_lines, "corrupt": corrupt}[args.command](args)


if __name__ == "__main__":
    main()
