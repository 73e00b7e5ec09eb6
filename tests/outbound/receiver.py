"""A small HTTP receiver (threaded http.server) that records what it is sent and answers as told."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Receiver:
    """Collects POSTs: `calls` holds (path, headers, raw body), `arrived` the monotonic time of each; `statuses`
    are answered in turn (then 200)."""

    def __init__(self):
        self.calls: list[tuple[str, dict, bytes]] = []
        self.arrived: list[float] = []
        self.statuses: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802  (http.server's naming)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.arrived.append(time.monotonic())
                receiver.calls.append((self.path, dict(self.headers), body))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *_args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class SlowReceiver:
    """A receiver that answers too slowly: "dribble" sends the status line, then one header line every 0.2 s
    for `seconds`; "late" answers 200 after `seconds`. `answered` holds the monotonic time of each answer."""

    def __init__(self, mode: str, seconds: float):
        self.answered: list[float] = []
        self.stopping = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):  # noqa: N802  (http.server's naming)
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    if mode == "late":
                        receiver.stopping.wait(seconds)
                    else:
                        self._dribble(seconds)
                    receiver.answered.append(time.monotonic())
                    end = b"" if mode == "dribble" else b"HTTP/1.1 200 OK\r\n"
                    self.wfile.write(end + b"Content-Length: 0\r\nConnection: close\r\n\r\n")
                except OSError:
                    pass  # the client gave up: that is the point

            def _dribble(self, seconds: float):
                ends = time.monotonic() + seconds
                self.wfile.write(b"HTTP/1.1 200 OK\r\n")
                while time.monotonic() < ends and not receiver.stopping.wait(0.2):
                    self.wfile.write(b"X-Still-Thinking: yes\r\n")
                    self.wfile.flush()

            def log_message(self, *_args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/slow"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()
