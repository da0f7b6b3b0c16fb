#!/usr/bin/env python3
"""A proxy in front of the test S3 server that fails some requests, to show
that embcache's S3 client retries them. Requests are forwarded byte for
byte in their signed parts (method, path, query, headers, body).

  --upstream PORT      the S3 server on 127.0.0.1
  --port-file FILE     where to write the port this proxy listens on
  --fail-every N       every Nth request (1-based) gets the next fault
  --faults A,B,...     faults used in turn: 503 (SlowDown), 500, drop (the
                       connection closes before any answer), or a status
                       with S3's error code, such as 400:ExpiredToken
  --log FILE           one line per request: "METHOD PATH STATUS|drop"
"""
import argparse
import http.client
import http.server
import itertools
import threading


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--upstream", type=int, required=True)
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--fail-every", type=int, default=3)
    parser.add_argument("--faults", default="503,drop,500")
    parser.add_argument("--log", required=True)
    args = parser.parse_args()
    counter = itertools.count(1)
    faults = itertools.cycle(args.faults.split(","))
    lock = threading.Lock()

    class Proxy(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_):
            pass

        def record(self, outcome):
            with lock, open(args.log, "a") as log:
                log.write(f"{self.command} {self.path} {outcome}\n")

        def handle_any(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            with lock:
                number = next(counter)
                fault = next(faults) if number % args.fail_every == 0 else None
            if fault == "drop":
                self.record("drop")
                self.close_connection = True
                self.connection.shutdown(2)
                return
            if fault:
                self.record(fault)
                status, _, code = fault.partition(":")
                message = f"<Error><Code>{code or 'SlowDown'}</Code><Message>injected</Message></Error>".encode()
                self.send_response(int(status))
                self.send_header("Content-Length", str(len(message)))
                self.end_headers()
                self.wfile.write(message)
                return
            upstream = http.client.HTTPConnection("127.0.0.1", args.upstream, timeout=60)
            upstream.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            for name, value in self.headers.items():
                if name.lower() not in ("connection", "keep-alive"):
                    upstream.putheader(name, value)
            upstream.endheaders(body)
            answer = upstream.getresponse()
            data = answer.read()
            self.record(str(answer.status))
            self.send_response(answer.status)
            for name, value in answer.getheaders():
                if name.lower() not in ("connection", "keep-alive", "transfer-encoding", "content-length"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
            upstream.close()

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_any

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    with open(args.port_file + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    import os
    os.rename(args.port_file + ".tmp", args.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
