"""A recording embedding server on 127.0.0.1 for the SDK conformance test.

The first path segment names the API (/openai, /azure, /cohere, /voyage,
/gemini, /ollama, /tei), so one server answers every provider. Each request
is appended to --log as one JSON line: method, path, query, headers
(lower-cased names), body (text) and the exact response bytes (base64).
Vectors are deterministic: from SHA-256 of the text, float32 values (so
every decimal printed round-trips exactly), with exponents and signs.
With --replay FILE every request is answered with FILE's bytes instead.
"""

import argparse, base64, hashlib, http.server, json, struct, urllib.parse

DIM = 6


def vector(text):
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    values = []
    for i in range(DIM):
        raw = int.from_bytes(digest[4 * i:4 * i + 4], "little")
        value = ((raw % 2000001) - 1000000) / 1000000.0 * (10.0 ** -(i % 4))
        values.append(struct.unpack("<f", struct.pack("<f", value))[0])
    return values


def packed(values):
    return base64.b64encode(struct.pack("<%df" % len(values), *values)).decode()


def answer(api, path, body):
    if api in ("openai", "azure", "voyage"):
        texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
        as64 = body.get("encoding_format") == "base64"
        data = [{"object": "embedding", "index": i,
                 "embedding": packed(vector(t)) if as64 else vector(t)} for i, t in enumerate(texts)]
        return {"object": "list", "data": data, "model": body.get("model", "deployment"),
                "usage": {"prompt_tokens": len(texts), "total_tokens": len(texts)}}
    if api == "cohere":
        return {"id": "conformance", "embeddings": {"float": [vector(t) for t in body["texts"]]},
                "texts": body["texts"], "meta": {"api_version": {"version": "2"}},
                "response_type": "embeddings_by_type"}
    if api == "gemini":
        texts = [r["content"]["parts"][0]["text"] for r in body["requests"]]
        return {"embeddings": [{"values": vector(t)} for t in texts]}
    if api == "ollama":
        texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
        return {"model": body["model"], "embeddings": [vector(t) for t in texts],
                "total_duration": 1, "load_duration": 1, "prompt_eval_count": len(texts)}
    if api == "tei":
        texts = body["inputs"] if isinstance(body["inputs"], list) else [body["inputs"]]
        return [vector(t) for t in texts]
    raise ValueError("unknown api " + api)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--log", required=True)
    parser.add_argument("--replay")
    options = parser.parse_args()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_POST(self):
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length)
            url = urllib.parse.urlsplit(self.path)
            api = url.path.split("/")[1]
            if options.replay:
                with open(options.replay, "rb") as f:
                    payload = f.read()
            else:
                payload = json.dumps(answer(api, url.path, json.loads(raw))).encode()
            with open(options.log, "a", encoding="utf-8") as log:
                log.write(json.dumps({
                    "method": self.command, "path": url.path, "query": url.query,
                    "headers": {k.lower(): v for k, v in self.headers.items()},
                    "body": raw.decode("utf-8"), "response": base64.b64encode(payload).decode(),
                }) + "\n")
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    with open(options.port_file + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    import os
    os.rename(options.port_file + ".tmp", options.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
