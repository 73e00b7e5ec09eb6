"""Logs to stdout: one line per request, no secrets, no query strings or bodies, and the route rather than the
path (paths such as /r/<token> and /s/<token> carry per-customer secrets)."""

from __future__ import annotations

import logging
import sys
import time

from flask import Flask, g, request

request_log = logging.getLogger("crm.request")


def configure_logging(level: int = logging.INFO) -> None:
    """Send the crm loggers to stdout once."""
    root = logging.getLogger("crm")
    if not any(getattr(h, "_crm", False) for h in root.handlers):
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        handler._crm = True
        root.addHandler(handler)
    root.setLevel(level)
    root.propagate = False


def init_app(app: Flask) -> None:
    """Log each request with method, route, status and duration."""

    @app.before_request
    def _start_timer():
        g.request_started = time.perf_counter()

    @app.after_request
    def _log_request(response):
        if request.path == "/callback" and response.status_code == 200:
            return response  # each webhook event already logs its own line
        route = request.url_rule.rule if request.url_rule is not None else "(no route)"
        log_request(request.method, route, response.status_code, started=g.get("request_started"))
        return response


def log_request(method: str, route: str, status: int, *, started: float | None) -> None:
    """The request's log line (`started`: its time.perf_counter() when it came in)."""
    elapsed = (time.perf_counter() - started) * 1000 if started else 0.0
    request_log.info("request method=%s route=%s status=%s ms=%.1f", method, route, status, elapsed)
