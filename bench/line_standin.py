"""A zero-latency stand-in for LINE's Messaging API: answers every request 200 {} over keep-alive HTTP/1.1
(or after --latency-ms, to see how the sender behaves with LINE's real round trip); GET /v2/bot/profile/{userId}
answers a profile the SDK accepts.

Far lighter than linesim (no validation, no state), so a benchmark measures the sender, not the simulator.
GET /_count returns the number of requests per path as JSON (profiles counted under /v2/bot/profile).

    python -m bench.line_standin --port 5099
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
from collections import Counter

COUNTS: Counter = Counter()
_ids = itertools.count(1)
PUSH_BODY = b'{"sentMessages":[{"id":"1","quoteToken":"q"}]}'  # the SDK reads a push response's sentMessages
PROFILE_PATH = b"/v2/bot/profile/"


def _profile_body(user_id: bytes) -> bytes:
    """A profile as LINE answers it (the SDK requires displayName and userId)."""
    suffix = user_id[-4:].decode(errors="replace")
    return json.dumps(
        {"userId": user_id.decode(errors="replace"), "displayName": f"友だち {suffix}", "language": "ja"},
        ensure_ascii=False,
    ).encode()


def _answer(path: bytes) -> bytes:
    """The body for a request to `path`."""
    if path.startswith(PROFILE_PATH):
        return _profile_body(path[len(PROFILE_PATH) :])
    return PUSH_BODY if path.endswith(b"/push") else b"{}"


def _response(body: bytes, request_id: int) -> bytes:
    return (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
        b"X-Line-Request-Id: %d\r\n\r\n%s" % (len(body), request_id, body)
    )


async def _serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, latency: float = 0.0) -> None:
    """One keep-alive connection: read each request (headers and body), answer (after `latency` seconds)."""
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            method, path, _ = head.split(b"\r\n", 1)[0].split(b" ", 2)
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            if length:
                await reader.readexactly(length)
            if method == b"GET" and path == b"/_count":
                body = json.dumps(dict(COUNTS)).encode()
            else:
                COUNTS[PROFILE_PATH.decode().rstrip("/") if path.startswith(PROFILE_PATH) else path.decode()] += 1
                body = _answer(path)
                if latency:
                    await asyncio.sleep(latency)
            writer.write(_response(body, next(_ids)))
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def _main(port: int, latency: float) -> None:
    server = await asyncio.start_server(lambda r, w: _serve(r, w, latency), "127.0.0.1", port, backlog=512)
    print(f"line stand-in listening on {port}", flush=True)
    async with server:
        await server.serve_forever()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.line_standin", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    args = parser.parse_args(argv)
    try:
        asyncio.run(_main(args.port, args.latency_ms / 1000))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
