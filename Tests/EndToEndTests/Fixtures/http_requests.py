"""Sends HTTP requests to 127.0.0.1 and prints what came back, for the
server's tests: http_requests.py PORT [--concurrent] < requests.json.

requests.json is a list of {"method", "path", "body", "headers"}: body a
string sent as is, or any other JSON value sent as its JSON (absent: no
body); headers an object (absent: Content-Type application/json when there
is a body). Each request goes on a connection of its own; with
--concurrent all are sent at once, from a thread each, and wait for each
other before sending. Prints a JSON list, in the order given, of
{"status", "headers" (lower-case names), "body" (parsed JSON, or the text
when it is not JSON), "seconds"}."""

import http.client, json, sys, threading, time

port = int(sys.argv[1])
concurrent = "--concurrent" in sys.argv[2:]
requests = json.load(sys.stdin)
results = [None] * len(requests)
start = threading.Barrier(len(requests)) if concurrent and requests else None


def send(index, request):
    body = request.get("body")
    if body is not None and not isinstance(body, str):
        body = json.dumps(body)
    headers = request.get("headers")
    if headers is None:
        headers = {"Content-Type": "application/json"} if body is not None else {}
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    if start:
        start.wait()
    began = time.monotonic()
    connection.request(request.get("method", "POST"), request["path"], body=body, headers=headers)
    answer = connection.getresponse()
    data = answer.read().decode("utf-8", "replace")
    try:
        parsed = json.loads(data)
    except ValueError:
        parsed = data
    results[index] = {
        "status": answer.status,
        "headers": {name.lower(): value for name, value in answer.getheaders()},
        "body": parsed,
        "seconds": time.monotonic() - began,
    }
    connection.close()


if concurrent:
    threads = [threading.Thread(target=send, args=item) for item in enumerate(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
else:
    for item in enumerate(requests):
        send(*item)
json.dump(results, sys.stdout)
