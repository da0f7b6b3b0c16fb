"""A recording embedding server on 127.0.0.1 for the SDK conformance test.

recording_server.py DIRECTORY writes DIRECTORY/port once it listens, and
answers every API on that one port. A request's path is /CASE/API/...: CASE
is any word naming the test case that sent it (clients put it at the end of
their base URL), API one of openai, azure, cohere, voyage, gemini, ollama,
tei. Each request is appended to DIRECTORY/requests.jsonl as one JSON line:
seq (its number, from 0), case, method, path (from /API on), query,
headers (names lower case), body (text) and response (the exact bytes
answered, in base64).

Vectors are made from SHA-256 of the text: the first half of the values are
float32 numbers (their shortest decimal names one float32), the others
doubles that are not, so that a reader that rounds twice or too early shows;
signs, exponents (1e-05 and such) and the dimension asked for included.
Base64 answers, where asked for, are float32 as the services send them.

A CASE of the form replay-N answers with the exact bytes of request N,
whatever was asked: how the test feeds embcache the bytes an SDK parsed.

The server ends, removing DIRECTORY, when the process that started it does:
a test suite shares one server and never stops it itself. It closes every
descriptor it inherited beyond 0, 1 and 2 at once.
"""

import base64, hashlib, http.server, json, os, shutil, struct, sys, threading, time, urllib.parse

DEFAULT_DIM = 6


def vector(text, dim):
    digest = hashlib.sha256(text.encode("utf-8")).digest() * 4
    values = []
    for i in range(dim):
        raw = int.from_bytes(digest[4 * i:4 * i + 4], "little")
        value = ((raw % 2000001) - 1000000) / 1000000.0 * (10.0 ** -(i % 4))
        if i < (dim + 1) // 2:
            value = struct.unpack("<f", struct.pack("<f", value))[0]
        else:
            value += raw / 2.0 ** 32 * 1e-9
        values.append(value)
    return values


def packed(values):
    return base64.b64encode(struct.pack("<%df" % len(values), *values)).decode()


def as_list(value):
    return value if isinstance(value, list) else [value]


def answer(api, body):
    """The API's answer to a request, as JSON; None for an unknown API."""
    if api in ("openai", "azure", "voyage"):
        dim = body.get("dimensions" if api != "voyage" else "output_dimension") or DEFAULT_DIM
        as64 = body.get("encoding_format") == "base64"
        data = [{"object": "embedding", "index": i,
                 "embedding": packed(vector(t, dim)) if as64 else vector(t, dim)}
                for i, t in enumerate(as_list(body["input"]))]
        return {"object": "list", "data": data, "model": body.get("model", "deployment"),
                "usage": {"prompt_tokens": len(data), "total_tokens": len(data)}}
    if api == "cohere":
        dim = body.get("output_dimension") or DEFAULT_DIM
        return {"id": "conformance", "embeddings": {"float": [vector(t, dim) for t in body["texts"]]},
                "texts": body["texts"], "meta": {"api_version": {"version": "2"}},
                "response_type": "embeddings_by_type"}
    if api == "gemini":
        return {"embeddings": [
            {"values": vector(r["content"]["parts"][0]["text"], r.get("outputDimensionality") or DEFAULT_DIM)}
            for r in body["requests"]]}
    if api == "ollama":
        texts = as_list(body["input"])
        dim = body.get("dimensions") or DEFAULT_DIM
        return {"model": body["model"], "embeddings": [vector(t, dim) for t in texts],
                "total_duration": 1, "load_duration": 1, "prompt_eval_count": len(texts)}
    if api == "tei":
        return [vector(t, DEFAULT_DIM) for t in as_list(body["inputs"])]
    return None


def main():
    # Outliving the tests around it, the server must not hold what it
    # inherited: a test that waits for the end of a pipe whose write end
    # was open when this started would wait for the whole run.
    os.closerange(3, os.sysconf("SC_OPEN_MAX"))
    directory = sys.argv[1]
    parent = os.getppid()
    log_path = os.path.join(directory, "requests.jsonl")
    lock = threading.Lock()
    responses = []

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_POST(self):
            raw = self.rfile.read(int(self.headers.get("content-length") or 0))
            url = urllib.parse.urlsplit(self.path)
            _, case, rest = url.path.split("/", 2) if url.path.count("/") >= 2 else ("", "", "")
            path = "/" + rest
            api = rest.split("/")[0]
            status, payload = 200, None
            if case.startswith("replay-"):
                with lock:
                    payload = responses[int(case[len("replay-"):])]
            else:
                try:
                    document = answer(api, json.loads(raw))
                except (ValueError, KeyError, TypeError, AttributeError, IndexError) as error:
                    status, document = 400, {"error": {"message": "bad request: %r" % error}}
                if document is None:
                    status, document = 404, {"error": {"message": "no API at " + path}}
                payload = json.dumps(document).encode()
            with lock:
                record = {
                    "seq": len(responses), "case": case, "method": self.command, "path": path,
                    "query": url.query, "headers": {k.lower(): v for k, v in self.headers.items()},
                    "body": raw.decode("utf-8", "backslashreplace"),
                    "response": base64.b64encode(payload).decode(),
                }
                responses.append(payload)
                with open(log_path, "a", encoding="utf-8") as log:
                    log.write(json.dumps(record) + "\n")
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port_file = os.path.join(directory, "port")
    with open(port_file + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(port_file + ".tmp", port_file)
    while os.getppid() == parent:
        time.sleep(0.2)
    shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
