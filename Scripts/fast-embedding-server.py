#!/usr/bin/env python3
"""A fast OpenAI-compatible embeddings server for benchmarks, so that the
server is never the limit of what is measured.

  fast-embedding-server.py --port-file PATH [--latency S] [--dim D] [--count PATH] [--times PATH]

POST /v1/embeddings is answered --latency seconds after the request arrived
(its own work included, so requests in flight overlap as a remote
provider's do), with base64 vectors of dimension --dim (default 64). The
vector of a text depends only on its place in the request: no per-text work
but reading the JSON body, so one core serves far more texts per second
than the requests in flight of a benchmark can ask for. Any key is taken.
Binds 127.0.0.1 on an ephemeral port, writes the port (no newline) to
--port-file atomically, serves HTTP/1.1 keep-alive on asyncio, exits 0 on
SIGTERM; with --count, writes the number of texts served there on exit.
With --times, appends "ARRIVED SENT" for each request as its answer is
written, in seconds since the epoch: what was in flight when.
"""
import argparse
import asyncio
import base64
import json
import os
import signal
import struct
import sys
import time

answers = {}
served = 0
times = None


def answer(count, dim):
    body = answers.get(count)
    if body is None:
        data = []
        for index in range(count):
            vector = struct.pack("<%df" % dim, *[((index * 31 + i * 7) % 97) / 97.0 + 0.01 for i in range(dim)])
            data.append({"object": "embedding", "index": index, "embedding": base64.b64encode(vector).decode()})
        document = {"object": "list", "data": data, "model": "fast",
                    "usage": {"prompt_tokens": 0, "total_tokens": 0}}
        body = answers[count] = json.dumps(document).encode()
    return body


async def serve(reader, writer, latency, dim):
    global served
    loop = asyncio.get_running_loop()
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            arrived = loop.time()
            length = 0
            lines = head.split(b"\r\n")
            for line in lines[1:]:
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value)
                elif name == b"expect" and value.strip().lower() == b"100-continue":
                    writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            body = await reader.readexactly(length)
            if not lines[0].startswith(b"POST ") or b"/embeddings" not in lines[0]:
                message = b'{"error":{"message":"not found","type":"invalid_request_error"}}'
                writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\n"
                             b"Content-Length: %d\r\n\r\n%s" % (len(message), message))
                continue
            texts = json.loads(body)["input"]
            count = len(texts) if isinstance(texts, list) else 1
            reply = answer(count, dim)
            delay = latency - (loop.time() - arrived)
            if delay > 0:
                await asyncio.sleep(delay)
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
                         % len(reply) + reply)
            if times is not None:
                offset = time.time() - loop.time()
                times.write("%.6f %.6f\n" % (arrived + offset, loop.time() + offset))
                times.flush()
            await writer.drain()
            served += count
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--count")
    parser.add_argument("--times")
    args = parser.parse_args()
    if args.times:
        global times
        times = open(args.times, "a")
    server = await asyncio.start_server(
        lambda r, w: serve(r, w, args.latency, args.dim), "127.0.0.1", 0, backlog=512)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    temporary = "%s.%d.tmp" % (args.port_file, os.getpid())
    with open(temporary, "w") as f:
        f.write(str(server.sockets[0].getsockname()[1]))
    os.rename(temporary, args.port_file)
    async with server:
        await stop.wait()
    if args.count:
        with open(args.count, "w") as f:
            f.write("%d\n" % served)


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
