"""What every Messaging API request goes through: request ID, auth, retry-key header, rate limit, faults, log."""

from __future__ import annotations

import hmac
import time

from flask import Flask, g, request

from linesim import ids
from linesim.errors import LineError
from linesim.state import current_state

RETRY_KEY_ENDPOINTS = ("push", "multicast", "narrowcast", "broadcast")
AUTH_FAILED = "Authentication failed. Confirm that the access token in the authorization header is valid."


def short_name() -> str:
    """The endpoint's short name used by fault and rate-limit patterns, e.g. "push" or "richmenu_link"."""
    return (request.endpoint or "").rpartition(".")[2]


def check_auth(token: str) -> None:
    """401 unless the request carries `Authorization: Bearer <channel access token>`."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(value.strip().encode(), token.encode()):
        raise LineError(401, AUTH_FAILED)


def check_retry_key_header() -> None:
    """Only push, multicast, narrowcast and broadcast take X-Line-Retry-Key, and it must be a UUID."""
    retry_key = g.retry_key
    if retry_key is None:
        return
    if short_name() not in RETRY_KEY_ENDPOINTS:
        raise LineError(400, "X-Line-Retry-Key is not supported by this API")
    if not ids.UUID_RE.match(retry_key):
        raise LineError(400, "The value of the X-Line-Retry-Key header is invalid")


def apply_fault() -> None:
    """Fail or stall this request if a fault rule matches it (stall: answer normally, but late)."""
    fault = current_state().faults.take(short_name(), request.path)
    if fault is None:
        return
    if fault.kind == "stall":
        g.stall_seconds = fault.stall_seconds
        return
    if fault.kind == "stall_error":
        time.sleep(fault.stall_seconds)
    raise LineError(fault.status, "Internal server error" if fault.status == 500 else "Simulated failure")


def guard() -> None:
    """Run the checks LINE runs before it looks at a request, in order."""
    g.request_id, g.started = ids.request_id(), time.monotonic()
    g.retry_key, g.stall_seconds = request.headers.get("X-Line-Retry-Key"), 0.0
    if not request.path.startswith("/v2/") or request.endpoint is None:
        return
    state = current_state()
    check_auth(state.config["CHANNEL_ACCESS_TOKEN"])
    check_retry_key_header()
    if not state.rate_limiter.allow(f"{request.method} {request.url_rule.rule}", short_name()):
        raise LineError(429, "Too Many Requests")
    apply_fault()


def finish(response):
    """Stamp X-Line-Request-Id, log Messaging API calls, then hold a stalled answer back."""
    request_id = g.get("request_id") or ids.request_id()
    response.headers["X-Line-Request-Id"] = request_id
    if request.path.startswith("/v2/"):
        state = current_state()
        entry = {
            "method": request.method,
            "path": request.path,
            "endpoint": short_name(),
            "status": response.status_code,
            "requestId": request_id,
            "retryKey": g.get("retry_key"),
            "time": ids.now_ms(),
            "elapsedMs": round((time.monotonic() - g.get("started", 0)) * 1000, 2),
        }
        with state.lock:
            state.requests.append(entry)
    if g.get("stall_seconds"):
        time.sleep(g.stall_seconds)
    return response


def init_app(app: Flask) -> None:
    """Install the gateway hooks."""
    app.before_request(guard)
    app.after_request(finish)
