"""Who may drive the simulator: its control API and chat forms refuse requests a foreign web page sends.

A page on another site can make the developer's browser post to the simulator (a form, or fetch in no-cors
mode); such requests carry that site's Origin (or at least its Referer) and cannot carry a JSON content type
without a CORS preflight, which the simulator never grants. Clients that are not browsers (SimulatorClient,
curl, the tests) send neither header and are let through.

A site can also point its own name at 127.0.0.1 (DNS rebinding) and so become "same origin"; its requests
then carry its name as Host, which the simulator refuses unless it is one of ALLOWED_HOSTS."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, request

from linesim.errors import SimError

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _own_origins() -> set[str]:
    own = f"{request.scheme}://{request.host}".lower()
    return {own, *(origin.lower().rstrip("/") for origin in current_app.config.get("ALLOWED_ORIGINS") or ())}


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower() if parts.scheme and parts.netloc else url


def check_same_origin() -> None:
    """403 for a state-changing request whose Origin (or, without one, Referer) names another site."""
    if request.method in SAFE_METHODS:
        return
    origin = request.headers.get("Origin")
    if origin is None and request.headers.get("Referer"):
        origin = _origin_of(request.headers["Referer"])
    if origin is not None and origin.lower().rstrip("/") not in _own_origins():
        raise SimError(403, f"cross-origin request refused (origin {origin[:100]})")


def check_host() -> None:
    """421 for a request addressed to a host name the simulator does not answer to."""
    name = (urlsplit(f"//{request.host}").hostname or "").lower()
    if name not in {host.lower().strip("[]") for host in current_app.config.get("ALLOWED_HOSTS") or ()}:
        raise SimError(421, f"this simulator does not answer to host {name[:100]!r}; add it to ALLOWED_HOSTS")


def check_control_request() -> None:
    """The control API's guard: same origin, and a JSON body for every request that changes something."""
    check_same_origin()
    if request.method not in SAFE_METHODS and request.mimetype != "application/json":
        raise SimError(415, "send the request body as application/json")
