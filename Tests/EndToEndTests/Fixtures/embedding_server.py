#!/usr/bin/env python3
"""Test server that speaks one embedding API's wire format (--api) strictly,
answers with deterministic vectors, and injects faults on demand.

  embedding_server.py --api NAME --port-file PATH [--key KEY] [--dim N]
      [--host ADDRESS] [--latency S] [--log PATH] [--times PATH] [--fault SPEC]... [--max-batch N]
  embedding_server.py --print-vectors    (JSON lines on stdin, see below)

  openai  POST /v1/embeddings                        Authorization: Bearer KEY
  azure   POST /openai/deployments/D/embeddings?api-version=V      api-key: KEY
  ollama  POST /api/embed            (Authorization: Bearer KEY only with --key)
  cohere  POST /v2/embed                             Authorization: Bearer KEY
  voyage  POST /v1/embeddings                        Authorization: Bearer KEY
  gemini  POST /v1beta/models/M:batchEmbedContents         x-goog-api-key: KEY
  tei     POST /embed                (Authorization: Bearer KEY only with --key)
Without --key any key is taken, but it must come in the API's header; with
--key a wrong or missing one is a 401. Anything off the documented shape
(path, method, header, Content-Type other than application/json, a field's
name or type) gets a 4xx in the API's error shape: openai and azure
{"error":{"message","type","param","code"}}, ollama {"error"}, cohere
{"message"}, voyage {"detail"}, gemini {"error":{"code","message","status"}},
tei {"error","error_type"}. As the real services do: openai, azure, cohere,
voyage and gemini reject unknown fields, ollama and tei ignore them; azure
without api-version is a 404; tei answers 401 with an empty body, unreadable
bodies with 422, empty or oversized batches with 413. Batch limits
(--max-batch overrides): openai/azure 2048, voyage 1000, gemini 100, cohere
96, tei 32, ollama none.

Vector for (model, params, text, dim): element i is x = float32(u/2**31 - 1)
(round to nearest; 1.0 becomes 0.99999994) where u is the little-endian
uint32 at bytes 4i..4i+3 of shake_256(f"{model}|{params}|{text}" as UTF-8,
surrogatepass).digest(4*dim). model: the request's; azure: the deployment D;
gemini: M; tei: "tei". dim: the request's dimensions / output_dimension /
outputDimensionality, else --dim. params: key=value pairs sorted by key,
joined by ";", booleans true/false, absent values at the default shown:
  openai, azure ""         ollama "truncate=true"
  cohere "input_type=search_document;truncate=END"   (input_type required)
  voyage "input_type=null;truncation=true"    (input_type null|query|document)
  gemini "taskType=TASK_TYPE_UNSPECIFIED"     (for each item of requests[])
  tei    "normalize=true;truncate=false"
JSON answers write each float32 with 9 significant digits (0.100000001,
-4.65661287e-10), which parse back to exactly x; base64 answers (openai,
azure, voyage with encoding_format "base64") carry little-endian float32.
--print-vectors reads {"model", "text", "dim", "params"} lines (params as
above, or an object such as {"input_type": "search_query", "truncate": "END"})
and prints {"vector": [...], "base64": "..."} for each.

The server binds 127.0.0.1 (--host: another address, such as 0.0.0.0 in a
network namespace of a test's own making) on an ephemeral port, writes the port number (no
newline) to --port-file atomically, serves HTTP/1.1 keep-alive, a thread per
connection, and exits 0 on SIGTERM. Absolute-form targets (as a proxy gets
them) are served by their path. --latency S answers every request S seconds after it arrived (its own work
included, so requests in flight overlap as a remote provider's do).
--log appends, before each answer is sent, one JSON line: {"n", "method",
"path" (with query), "absolute_form", "headers" (authorization, api-key,
x-goog-api-key, content-type, user-agent), "body" (parsed JSON or null),
"inputs", "status", "fault"}. --times appends, as each answer is sent,
"ARRIVED SENT" in seconds since the epoch: the benchmark's record of what
was in flight, far lighter than --log.

--fault KIND[,key=value]...  Requests are numbered from 1 as they arrive
(valid or not). A fault applies to an otherwise valid request numbered above
after=N (default 0) while it has uses left, times=N (default 1, or all);
faults are tried in the order given and a request gets at most one.
  status=CODE  CODE with the API's error body; retry_after=S (Retry-After: S),
               retry_after_ms=MS (retry-after-ms), retry_after_date=S
               (Retry-After as an HTTP date S seconds ahead), code=C (the
               error's code, openai/azure), should_retry=true|false
               (x-should-retry, as OpenAI's servers send it)
  drop         the full Content-Length, half the body, then the socket closes
  slow=S       sleep S, then answer normally
  malformed    200 with the first half of the JSON
  few          200 with one vector fewer than inputs
  wrongdim     200 whose last vector is one element short
  nan          200 whose last vector's middle element is NaN (its bit pattern
               in base64; 1e999, which overflows, in JSON)
  shuffle      200 with "data" reversed, indexes kept (openai, azure, voyage)
  reject=TEXT  an input equal to TEXT (commas allowed) makes a 400 (tei: 413)
               "input I is too long"; times defaults to all
  no_base64    a base64 request gets 400 "encoding_format base64 is not
               supported" (param encoding_format); float requests pass
  echo_key     400 whose message quotes the key the request presented: its
               first and last 10 characters, then whole (escaped as JSON
               escapes it, in the body); voyage's "detail" is a list of
               validation errors, {"loc", "msg", "type"}, as FastAPI sends
"""
import argparse
import base64
import email.utils
import hashlib
import json
import os
import re
import signal
import socket
import sys
import threading
import time
import traceback
import uuid
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

import numpy as np

# ----------------------------------------------------------------- vectors

BELOW_ONE = np.nextafter(np.float32(1), np.float32(0))


def params_string(params):
    """The canonical params string for a dict, e.g. "truncate=END"."""
    if isinstance(params, str):
        return params
    show = lambda v: "null" if v is None else str(v).lower() if isinstance(v, bool) else str(v)
    return ";".join(f"{k}={show(v)}" for k, v in sorted(params.items()))


def make_vectors(model, items):
    """float32 vectors for items [(text, params, dim)], in one numpy pass."""
    digests = [hashlib.shake_256(f"{model}|{p}|{t}".encode("utf-8", "surrogatepass")).digest(4 * d)
               for t, p, d in items]
    u = np.frombuffer(b"".join(digests), "<u4")
    flat = np.minimum((u / 2.0**31 - 1).astype(np.float32), BELOW_ONE)
    return np.split(flat, np.cumsum([d for _, _, d in items])[:-1]) if items else []


T4 = np.frombuffer("".join(f"{i:04d}" for i in range(10**4)).encode(), np.uint32)
EXPONENTS = np.frombuffer("".join(f"e-{i:02d}" for i in range(100)).encode(), np.uint32)


def format_vectors(vectors):
    """Each float32 vector (|x| < 10) as a JSON array (bytes), 9 significant
    digits per element: positional down to 1e-4 ("-0.000123399994"), else
    exponent form ("4.65661287e-10"). Vectorised: repr() is ~5x slower."""
    if not vectors or sum(map(len, vectors)) == 0:
        return [b"[]"] * len(vectors)
    flat = np.concatenate(vectors).astype(np.float32)
    n = flat.size
    a = np.abs(flat.astype(np.float64))
    e = np.floor(np.log10(a, where=a > 0, out=np.zeros(n))).astype(np.int64)  # decimal exponent
    m = np.rint(a * 10.0 ** (8 - e))  # 9 significant digits; fix e when off by one
    for wrong, step in ((m >= 1e9, 1), ((a > 0) & (m < 1e8), -1)):
        e[wrong] += step
        m[wrong] = np.rint(a[wrong] * 10.0 ** (8 - e[wrong]))
    m = m.astype(np.uint32)
    d0 = (m // 100000000).astype(np.uint8) + 48
    positional = (e <= -1) & (e >= -4)
    c = np.zeros((n, 24), np.uint8)  # one row of characters per element, NUL = none
    words = c.view(np.uint32)
    c[:, 0] = np.where(np.signbit(flat), ord("-"), 0)
    c[:, 1] = np.where(positional, ord("0"), d0)
    c[:, 2] = ord(".")
    for k in range(3):
        c[:, 3 + k] = np.where(positional & (e < -1 - k), ord("0"), 0)
    c[:, 7] = np.where(positional, d0, 0)
    words[:, 2] = T4[m // 10000 % 10000]
    words[:, 3] = T4[m % 10000]
    words[:, 4] = np.where(e < -4, EXPONENTS[np.clip(-e, 0, 99)], 0)
    c[:, 20] = ord(",")
    c[np.cumsum([len(v) for v in vectors]) - 1, 20] = 1  # 0x01 ends a vector
    parts = c.tobytes().translate(None, b"\0").split(b"\1")
    it = iter(parts)
    return [b"[" + next(it) + b"]" if len(v) else b"[]" for v in vectors]


# ------------------------------------------------------------- API shapes

class ApiError(Exception):
    def __init__(self, status, message, param=None, headers=()):
        super().__init__(message)
        self.status, self.message, self.param, self.headers = status, message, param, list(headers)


@dataclass
class Job:
    model: str                 # the model the vectors are made for
    texts: list
    params: list               # params string per text
    dims: list                 # dimension per text
    name: str = ""             # the model named in the answer
    base64: bool = False


def get(body, name, kind, required=False, choices=None):
    """body[name] checked for type (None counts as absent)."""
    value = body.get(name)
    if value is None:
        if required:
            raise ApiError(400, f"missing required field '{name}'", name)
        return None
    ok = {"str": isinstance(value, str), "bool": isinstance(value, bool),
          "int": isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 65536,
          "list": isinstance(value, list), "dict": isinstance(value, dict)}[kind]
    if not ok or (choices is not None and value not in choices):
        raise ApiError(400, f"invalid value for '{name}': {json.dumps(value)[:100]}", name)
    return value


def only(body, allowed, where=""):
    for key in body:
        if key not in allowed:
            raise ApiError(400, f"unrecognized request argument supplied: {where}{key}", key)


def text_list(body, name, allow_str=True, nonempty=False):
    value = body.get(name)
    if value is None:
        raise ApiError(400, f"missing required field '{name}'", name)
    texts = [value] if allow_str and isinstance(value, str) else value
    if not isinstance(texts, list) or not texts or not all(isinstance(t, str) and (t or not nonempty) for t in texts):
        raise ApiError(400, f"'{name}' must be a non-empty list of {'non-empty ' * nonempty}strings", name)
    return texts


def batch_limit(texts, limit, message=None, status=400):
    if limit is not None and len(texts) > limit:
        raise ApiError(status, message or f"too many inputs: {len(texts)} > maximum {limit}")


def tokens(texts):
    return sum(max(1, len(t) // 4) for t in texts)


# https://platform.openai.com/docs/api-reference/embeddings/create
def parse_openai(body, route, cfg, azure=False):
    only(body, {"model", "input", "encoding_format", "dimensions", "user"} | ({"input_type"} if azure else set()))
    model = get(body, "model", "str", required=not azure)
    texts = text_list(body, "input", nonempty=True)
    batch_limit(texts, cfg.limit, f"'$.input' is too long: {len(texts)} > maximum {cfg.limit} inputs")
    fmt = get(body, "encoding_format", "str", choices=("float", "base64")) or "float"
    dim = get(body, "dimensions", "int") or cfg.dim
    get(body, "user", "str")
    vec_model = route["deployment"] if azure else model
    return Job(vec_model, texts, [""] * len(texts), [dim] * len(texts), model or vec_model, fmt == "base64")


def render_openai(job, vecs):
    n = tokens(job.texts)
    return {"object": "list", "model": job.name, "usage": {"prompt_tokens": n, "total_tokens": n},
            "data": [{"object": "embedding", "index": i, "embedding": v} for i, v in enumerate(vecs)]}


# https://docs.ollama.com/api/embed (and github.com/ollama/ollama docs/api.md)
def parse_ollama(body, route, cfg):
    model = get(body, "model", "str", required=True)
    texts = text_list(body, "input")
    batch_limit(texts, cfg.limit)
    truncate = get(body, "truncate", "bool")
    dim = get(body, "dimensions", "int") or cfg.dim
    get(body, "options", "dict")
    p = params_string({"truncate": True if truncate is None else truncate})
    return Job(model, texts, [p] * len(texts), [dim] * len(texts), model)


def render_ollama(job, vecs):
    return {"model": job.name, "embeddings": vecs, "total_duration": 14143917,
            "load_duration": 1019500, "prompt_eval_count": tokens(job.texts)}


# https://docs.cohere.com/reference/embed (v2)
COHERE_INPUT_TYPES = ("search_document", "search_query", "classification", "clustering")


def parse_cohere(body, route, cfg):
    only(body, {"model", "texts", "images", "inputs", "input_type", "embedding_types",
                "truncate", "max_tokens", "output_dimension"})
    if body.get("images") is not None or body.get("inputs") is not None:
        raise ApiError(400, "invalid request: this test server embeds only 'texts'")
    model = get(body, "model", "str", required=True)
    texts = text_list(body, "texts", allow_str=False)
    batch_limit(texts, cfg.limit, f"invalid request: total number of texts must be at most "
                                  f"{cfg.limit} - received {len(texts)}")
    input_type = get(body, "input_type", "str", required=True, choices=COHERE_INPUT_TYPES)
    types = get(body, "embedding_types", "list") or ["float"]
    if types != ["float"]:
        raise ApiError(400, f"invalid request: this test server answers embedding_types [\"float\"] only, got {types}")
    truncate = get(body, "truncate", "str", choices=("NONE", "START", "END")) or "END"
    dim = get(body, "output_dimension", "int") or cfg.dim
    get(body, "max_tokens", "int")
    p = params_string({"input_type": input_type, "truncate": truncate})
    return Job(model, texts, [p] * len(texts), [dim] * len(texts), model)


def render_cohere(job, vecs):
    return {"id": str(uuid.uuid4()), "embeddings": {"float": vecs}, "texts": job.texts,
            "meta": {"api_version": {"version": "2"}, "billed_units": {"input_tokens": tokens(job.texts)}},
            "response_type": "embeddings_by_type"}


# https://docs.voyageai.com/reference/embeddings-api (errors: docs.voyageai.com/docs/error-codes)
def parse_voyage(body, route, cfg):
    only(body, {"input", "model", "input_type", "truncation", "output_dimension", "output_dtype", "encoding_format"})
    texts = text_list(body, "input")
    batch_limit(texts, cfg.limit, f"The batch size limit is {cfg.limit}. Your batch size is {len(texts)}.")
    model = get(body, "model", "str", required=True)
    input_type = get(body, "input_type", "str", choices=("query", "document"))
    truncation = get(body, "truncation", "bool")
    dim = get(body, "output_dimension", "int") or cfg.dim
    get(body, "output_dtype", "str", choices=("float",))
    fmt = get(body, "encoding_format", "str", choices=("base64",))
    p = params_string({"input_type": input_type, "truncation": True if truncation is None else truncation})
    return Job(model, texts, [p] * len(texts), [dim] * len(texts), model, fmt == "base64")


def render_voyage(job, vecs):
    return {"object": "list", "data": [{"object": "embedding", "embedding": v, "index": i} for i, v in enumerate(vecs)],
            "model": job.name, "usage": {"total_tokens": tokens(job.texts)}}


# https://ai.google.dev/api/embeddings#method:-models.batchembedcontents
GEMINI_TASKS = ("TASK_TYPE_UNSPECIFIED", "RETRIEVAL_QUERY", "RETRIEVAL_DOCUMENT", "SEMANTIC_SIMILARITY",
                "CLASSIFICATION", "CLUSTERING", "QUESTION_ANSWERING", "FACT_VERIFICATION", "CODE_RETRIEVAL_QUERY")


def parse_gemini(body, route, cfg):
    only(body, {"requests"})
    requests = get(body, "requests", "list", required=True)
    if not requests:
        raise ApiError(400, "* BatchEmbedContentsRequest.requests: must not be empty", "requests")
    batch_limit(requests, cfg.limit, f"* BatchEmbedContentsRequest.requests: at most {cfg.limit} "
                                     f"requests can be in one batch")
    texts, params, dims, want = [], [], [], route["model"]
    for i, r in enumerate(requests):
        where = f"requests[{i}]."
        if not isinstance(r, dict):
            raise ApiError(400, f"Invalid value at '{where[:-1]}': not an EmbedContentRequest")
        only(r, {"model", "content", "taskType", "title", "outputDimensionality"}, where)
        model = get(r, "model", "str", required=True)
        if model != want:
            raise ApiError(400, f"* BatchEmbedContentsRequest.{where}model: unexpected model name format "
                                f"or mismatch: {model!r} is not {want!r} of the URL")
        content = get(r, "content", "dict", required=True)
        only(content, {"parts", "role"}, where + "content.")
        parts = get(content, "parts", "list", required=True)
        if not parts or not all(isinstance(p, dict) and set(p) == {"text"} and isinstance(p["text"], str)
                                for p in parts):
            raise ApiError(400, f"* BatchEmbedContentsRequest.{where}content.parts: expected [{{\"text\": string}}]")
        texts.append("".join(p["text"] for p in parts))
        task = get(r, "taskType", "str", choices=GEMINI_TASKS) or "TASK_TYPE_UNSPECIFIED"
        get(r, "title", "str")
        params.append(params_string({"taskType": task}))
        dims.append(get(r, "outputDimensionality", "int") or cfg.dim)
    # Vectors are made from the model's name as the docstring defines them
    # (without "models/"); a tuned model keeps its whole resource name.
    name = route["model"].removeprefix("models/")
    return Job(name, texts, params, dims, name)


# https://huggingface.github.io/text-embeddings-inference/ (router/src/http/server.rs)
def parse_tei(body, route, cfg):
    inputs = body.get("inputs")
    if inputs == []:
        raise ApiError(413, "`inputs` cannot be empty")
    texts = text_list(body, "inputs")
    batch_limit(texts, cfg.limit, f"batch size {len(texts)} > maximum allowed batch size {cfg.limit}", 413)
    truncate = get(body, "truncate", "bool")
    normalize = get(body, "normalize", "bool")
    get(body, "truncation_direction", "str", choices=("Left", "Right"))
    get(body, "prompt_name", "str")
    p = params_string({"normalize": True if normalize is None else normalize, "truncate": bool(truncate)})
    return Job("tei", texts, [p] * len(texts), [cfg.dim] * len(texts), "tei")


def bearer(headers):
    value = headers.get("Authorization") or ""
    return value[7:] if value.startswith("Bearer ") else None


@dataclass
class Api:
    route: str                 # regex for the path
    parse: object
    render: object
    auth: object = bearer      # headers -> presented key or None
    auth_always: bool = True   # a key is required even without --key
    limit: int = None
    indexed: bool = False      # answers carry "index" (shuffle applies)
    base64: bool = False       # accepts encoding_format base64


APIS = {
    "openai": Api(r"/v1/embeddings", parse_openai, render_openai, limit=2048, indexed=True, base64=True),
    # https://learn.microsoft.com/en-us/azure/ai-services/openai/reference#embeddings
    "azure": Api(r"/openai/deployments/(?P<deployment>[^/]+)/embeddings",
                 lambda body, route, cfg: parse_openai(body, route, cfg, azure=True), render_openai,
                 auth=lambda h: h.get("api-key"), limit=2048, indexed=True, base64=True),
    "ollama": Api(r"/api/embed", parse_ollama, render_ollama, auth_always=False),
    "cohere": Api(r"/v2/embed", parse_cohere, render_cohere, limit=96),
    "voyage": Api(r"/v1/embeddings", parse_voyage, render_voyage, limit=1000, indexed=True, base64=True),
    "gemini": Api(r"/v1beta/(?P<model>(?:models|tunedModels)/[^/:]+):batchEmbedContents", parse_gemini,
                  lambda job, vecs: {"embeddings": [{"values": v} for v in vecs]},
                  auth=lambda h: h.get("x-goog-api-key"), limit=100),
    "tei": Api(r"/embed", parse_tei, lambda job, vecs: vecs, auth_always=False, limit=32),
}

GOOGLE_STATUS = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
                 409: "ABORTED", 429: "RESOURCE_EXHAUSTED", 499: "CANCELLED", 500: "INTERNAL",
                 501: "NOT_IMPLEMENTED", 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED"}
TEI_TYPES = {413: "validation", 422: "tokenizer", 424: "backend", 429: "overloaded", 503: "unhealthy"}
OPENAI_KINDS = {401: ("invalid_request_error", "invalid_api_key"), 403: ("invalid_request_error", "permission_denied"),
                404: ("invalid_request_error", None), 429: ("requests", "rate_limit_exceeded")}


def error_body(api, status, message, param=None, tei_type=None, code=None):
    """(body bytes, content type) of an error in the API's shape."""
    if api in ("openai", "azure"):
        kind, default_code = OPENAI_KINDS.get(status, ("server_error" if status >= 500 else "invalid_request_error", None))
        code = code or default_code
        if api == "azure" and code is None:
            code = str(status)
        doc = {"error": {"message": message, "type": kind, "param": param, "code": code}}
    elif api == "ollama":
        doc = {"error": message}
    elif api == "cohere":
        doc = {"message": message}
    elif api == "voyage":
        doc = {"detail": message}
    elif api == "gemini":
        doc = {"error": {"code": status, "message": message, "status": GOOGLE_STATUS.get(status, "UNKNOWN")}}
    else:  # tei; its auth layer answers 401 with no body at all
        if status == 401:
            return b"", None
        doc = {"error": message,
               "error_type": tei_type or TEI_TYPES.get(status, "backend" if status >= 500 else "validation")}
    return json.dumps(doc).encode(), "application/json"


# ------------------------------------------------------------------ faults

COMMON_KEYS = ("times", "after", "retry_after", "retry_after_ms", "retry_after_date", "code", "should_retry")
KINDS = ("status", "drop", "slow", "malformed", "few", "wrongdim", "nan", "shuffle", "reject", "no_base64",
         "echo_key")


@dataclass
class Fault:
    kind: str
    arg: object = None
    left: object = 1            # uses left; None = unlimited
    after: int = 0
    retry: dict = field(default_factory=dict)

    def applies(self, job):
        if self.kind == "reject":
            return self.arg in job.texts
        if self.kind == "no_base64":
            return job.base64
        return True


def parse_fault(spec, api):
    parts = spec.split(",")
    opts = {}
    while len(parts) > 1 and parts[-1].partition("=")[0] in COMMON_KEYS:
        key, _, value = parts.pop().partition("=")
        opts[key] = value
    kind, eq, arg = ",".join(parts).partition("=")
    if kind not in KINDS:
        raise ValueError(f"unknown fault kind {kind!r}")
    needs_arg = kind in ("status", "slow", "reject")
    if needs_arg != bool(eq):
        raise ValueError(f"fault {kind} {'needs' if needs_arg else 'takes no'} =VALUE")
    if kind == "status":
        arg = int(arg)
        if not 100 <= arg <= 599:
            raise ValueError("status must be 100..599")
    elif kind == "slow":
        arg = float(arg)
    if kind == "shuffle" and not APIS[api].indexed or kind == "no_base64" and not APIS[api].base64:
        raise ValueError(f"fault {kind} does not apply to --api {api}")
    retry = {k: float(opts.pop(k)) for k in COMMON_KEYS[2:5] if k in opts}
    retry.update({k: opts.pop(k) for k in COMMON_KEYS[5:] if k in opts})
    if retry and kind != "status":
        raise ValueError("retry_after*, code and should_retry go with status=CODE")
    times = opts.get("times", "all" if kind == "reject" else "1")
    left = None if times == "all" else int(times)
    after = int(opts.get("after", "0"))
    if (left is not None and left < 1) or after < 0:
        raise ValueError("times must be >= 1 or all, after >= 0")
    return Fault(kind, arg, left, after, retry)


class FaultBook:
    def __init__(self, faults):
        self.faults, self.count, self.lock = faults, 0, threading.Lock()

    def number(self):
        with self.lock:
            self.count += 1
            return self.count

    def pick(self, n, job):
        with self.lock:
            for f in self.faults:
                if n > f.after and f.left != 0 and f.applies(job):
                    if f.left is not None:
                        f.left -= 1
                    return f
        return None


def retry_headers(retry):
    headers = []
    if "retry_after" in retry:
        headers.append(("Retry-After", f"{retry['retry_after']:g}"))
    if "retry_after_ms" in retry:
        headers.append(("retry-after-ms", f"{retry['retry_after_ms']:g}"))
    if "retry_after_date" in retry:
        headers.append(("Retry-After", email.utils.formatdate(time.time() + retry["retry_after_date"], usegmt=True)))
    if "should_retry" in retry:
        headers.append(("x-should-retry", retry["should_retry"]))
    return headers


# ------------------------------------------------------------------ server

LOGGED_HEADERS = ("authorization", "api-key", "x-goog-api-key", "content-type", "user-agent")
MARK = uuid.uuid4().hex  # vectors are spliced into the JSON where "\u0000<MARK><i>" stands
MARK_RE = re.compile(rb'"\\u0000' + MARK.encode() + rb'(\d+)"')


def encode_answer(job, vectors, render, fault):
    """The 200 body for vectors, with the body-changing faults applied."""
    vectors = list(vectors)
    kind = fault.kind if fault else None
    if kind == "few":
        vectors = vectors[:-1]
    if kind == "wrongdim":
        vectors[-1] = vectors[-1][:-1]
    nan_at = len(vectors[-1]) // 2 if kind == "nan" and len(vectors[-1]) else None
    if job.base64:
        if nan_at is not None:
            vectors[-1] = vectors[-1].copy()
            vectors[-1][nan_at] = np.float32("nan")
        doc = render(job, [base64.b64encode(v.astype("<f4").tobytes()).decode() for v in vectors])
        arrays = []
    else:
        arrays = format_vectors(vectors)
        if nan_at is not None:
            items = arrays[-1][1:-1].split(b",")
            items[nan_at] = b"1e999"
            arrays[-1] = b"[" + b",".join(items) + b"]"
        doc = render(job, [f"\0{MARK}{i}" for i in range(len(vectors))])
    if kind == "shuffle":
        doc["data"].reverse()
    pieces = MARK_RE.split(json.dumps(doc, separators=(",", ":")).encode())
    pieces[1::2] = [arrays[int(i)] for i in pieces[1::2]]
    return b"".join(pieces)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    cfg = None  # set in main()

    def log_message(self, *args):
        pass

    def send(self, status, body, ctype="application/json", headers=(), length=None):
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = "Status"
        lines = [f"HTTP/1.1 {status} {phrase}", f"Date: {email.utils.formatdate(usegmt=True)}",
                 f"Content-Length: {len(body) if length is None else length}"]
        lines += [f"Content-Type: {ctype}"] if ctype else []
        lines += [f"{k}: {v}" for k, v in headers]
        if self.close_connection:
            lines.append("Connection: close")
        self.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)

    def read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline().strip():
                pass
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def do_POST(self):
        cfg = self.cfg
        arrived = time.monotonic()
        target = urlsplit(self.path)
        entry = {"n": cfg.book.number(), "method": self.command,
                 "path": target.path + (f"?{target.query}" if target.query else ""),
                 "absolute_form": bool(target.scheme),
                 "headers": {h: self.headers[h] for h in LOGGED_HEADERS if self.headers[h] is not None},
                 "body": None, "inputs": 0, "status": None, "fault": None}
        try:
            status, body, ctype, headers, drop = self.reply(target, entry)
        except ApiError as err:
            tei_type = None
            if cfg.api == "tei" and err.status == 400:
                err.status, tei_type = 422, "validation"  # TEI (axum) answers 422 to bodies it cannot read
            status, headers, drop = err.status, err.headers, False
            body, ctype = error_body(cfg.api, err.status, err.message, err.param, tei_type)
        except Exception as exc:  # a bug in this server; say so in the API's shape
            traceback.print_exc()
            status, headers, drop = 500, [], False
            body, ctype = error_body(cfg.api, 500, f"test server error: {exc!r}")
        entry["status"] = status
        # A fixed latency from arrival to answer, this server's own work
        # included: requests in flight are answered in parallel, not one
        # after another behind the interpreter's lock.
        if cfg.latency > time.monotonic() - arrived:
            time.sleep(cfg.latency - (time.monotonic() - arrived))
        cfg.write_log(entry)  # before answering, so a client that has its answer finds the line
        cfg.write_times(arrived, time.monotonic())
        try:
            if drop:  # the full Content-Length, half the body, then the connection closes
                self.close_connection = True
                self.send(status, body[: len(body) // 2], ctype, headers, length=len(body))
                self.connection.shutdown(socket.SHUT_RDWR)
            else:
                self.send(status, body, ctype, headers)
        except OSError:
            self.close_connection = True

    do_GET = do_PUT = do_DELETE = do_PATCH = do_POST

    def do_CONNECT(self):
        """A tunnel asked of this server as an HTTPS proxy: logged with the
        host:port asked for (as "path"), then refused, since no test may
        reach that host."""
        entry = {"n": self.cfg.book.number(), "method": "CONNECT", "path": self.path, "absolute_form": False,
                 "headers": {}, "body": None, "inputs": 0, "status": 403, "fault": None}
        self.cfg.write_log(entry)
        self.close_connection = True
        self.send(403, b"", None)

    def validate(self, api, target, body):
        """Route, auth, Content-Type and body; the Job, or raises ApiError."""
        route = re.fullmatch(api.route, target.path)
        if not route:
            raise ApiError(404, f"Invalid URL ({self.command} {target.path})")
        if self.command != "POST":
            raise ApiError(405, f"method {self.command} not allowed on {target.path}")
        route = {k: unquote(v) for k, v in route.groupdict().items()}
        if self.cfg.api == "azure" and not parse_qs(target.query).get("api-version", [""])[0]:
            raise ApiError(404, "Resource not found")
        if api.auth_always or self.cfg.key is not None:
            key = api.auth(self.headers)
            if not key:
                raise ApiError(401, "missing API key (or not in the header this API reads)")
            if self.cfg.key is not None and key != self.cfg.key:
                raise ApiError(401, "incorrect API key provided")
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ctype != "application/json":
            raise ApiError(415 if self.cfg.api == "tei" else 400,
                           f"expected Content-Type: application/json, got {ctype or 'none'}")
        if isinstance(body, ValueError):
            raise ApiError(400, f"could not parse the JSON body of the request: {body}")
        if not isinstance(body, dict):
            raise ApiError(400, "the request body must be a JSON object")
        return api.parse(body, route, self.cfg)

    def reply(self, target, entry):
        """(status, body, content type, headers, drop) for this request."""
        cfg, api = self.cfg, APIS[self.cfg.api]
        try:
            raw = self.read_body()
        except ValueError:
            self.close_connection = True
            raise ApiError(400, "unreadable request body")
        try:
            entry["body"] = body = json.loads(raw)
        except ValueError as exc:
            body = exc
        job = self.validate(api, target, body)
        entry["inputs"] = len(job.texts)
        fault = cfg.book.pick(entry["n"], job)
        kind = entry["fault"] = fault.kind if fault else None
        if kind == "status":
            phrase = HTTPStatus(fault.arg).phrase if fault.arg in HTTPStatus._value2member_map_ else "error"
            return (fault.arg, *error_body(cfg.api, fault.arg, f"{phrase} (injected fault)",
                                           code=fault.retry.get("code")),
                    retry_headers(fault.retry), False)
        if kind == "reject":
            raise ApiError(413 if cfg.api == "tei" else 400, f"input {job.texts.index(fault.arg)} is too long "
                           "(maximum context length is 8192 tokens)", "input")
        if kind == "no_base64":
            raise ApiError(400, "encoding_format base64 is not supported", "encoding_format")
        if kind == "echo_key":
            key = api.auth(self.headers) or ""
            message = f"incorrect API key provided: {key[:10]}...{key[-10:]}; you sent {key}"
            if cfg.api == "voyage":
                doc = {"detail": [{"loc": ["header", "authorization"], "msg": message, "type": "value_error"}]}
                return 400, json.dumps(doc).encode(), "application/json", [], False
            return (400, *error_body(cfg.api, 400, message), [], False)
        if kind == "slow":
            time.sleep(fault.arg)
        vectors = make_vectors(job.model, list(zip(job.texts, job.params, job.dims)))
        body = encode_answer(job, vectors, api.render, fault)
        if kind == "malformed":
            body = body[: len(body) // 2]
        return 200, body, "application/json", [], kind == "drop"


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128   # the default 5 drops bursts of concurrent connects


class Config:
    def __init__(self, args, book):
        self.api, self.key, self.dim, self.latency, self.book = args.api, args.key, args.dim, args.latency, book
        self.limit = args.max_batch if args.max_batch is not None else APIS[args.api].limit
        self.log = open(args.log, "a", encoding="utf-8") if args.log else None
        self.times = open(args.times, "a", encoding="utf-8") if args.times else None
        self.log_lock = threading.Lock()

    def write_log(self, entry):
        if self.log:
            line = json.dumps(entry) + "\n"
            with self.log_lock:
                self.log.write(line)
                self.log.flush()

    def write_times(self, arrived, sent):
        if self.times:
            # Monotonic times, put on the epoch's clock that the benchmark reads.
            offset = time.time() - time.monotonic()
            with self.log_lock:
                self.times.write(f"{arrived + offset:.6f} {sent + offset:.6f}\n")
                self.times.flush()


def print_vectors():
    for line in sys.stdin:
        if line.strip():
            req = json.loads(line)
            (v,) = make_vectors(req["model"], [(req["text"], params_string(req.get("params", "")), int(req["dim"]))])
            b64 = base64.b64encode(v.astype("<f4").tobytes()).decode()
            sys.stdout.write('{"vector":' + format_vectors([v])[0].decode() + ',"base64":"' + b64 + '"}\n')
            sys.stdout.flush()


def main():
    p = argparse.ArgumentParser(description="Embedding API test server (see the module docstring).")
    p.add_argument("--api", choices=sorted(APIS))
    p.add_argument("--port-file")
    p.add_argument("--key")
    p.add_argument("--dim", type=int, default=8)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--latency", type=float, default=0.0)
    p.add_argument("--log")
    p.add_argument("--times")
    p.add_argument("--fault", action="append", default=[])
    p.add_argument("--max-batch", type=int)
    p.add_argument("--print-vectors", action="store_true")
    args = p.parse_args()
    if args.print_vectors:
        return print_vectors()
    if not args.api or not args.port_file:
        p.error("--api and --port-file are required")
    try:
        faults = [parse_fault(spec, args.api) for spec in args.fault]
    except ValueError as exc:
        p.error(f"--fault: {exc}")
    Handler.cfg = Config(args, FaultBook(faults))
    server = Server((args.host, 0), Handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    tmp = f"{args.port_file}.{os.getpid()}.tmp"
    with open(tmp, "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(tmp, args.port_file)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
