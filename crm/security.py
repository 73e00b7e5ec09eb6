"""HTTP hardening shared by every page: the client's address behind proxies, development mode answering this
computer only, and the security headers of each response.

Every response, console or public (survey form, /r/ redirect), gets one policy: pages load only their own
scripts and styles (inline `<script>` and `<style>` blocks carry the request's nonce, `csp_nonce()` in
templates), no page may be framed, content types are not sniffed, and HTTPS responses ask browsers to stay on
HTTPS. Style attributes stay allowed: tag colours and rich-menu areas are drawn with them, and they cannot run
code."""

from __future__ import annotations

import ipaddress
import secrets
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, g, request
from flask_babel import gettext as _
from werkzeug.middleware.proxy_fix import ProxyFix

from crm.config import DEVELOPMENT

LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")
HSTS_SECONDS = 365 * 24 * 3600
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self' 'nonce-{nonce}'; style-src 'self' 'nonce-{nonce}';"
    " style-src-attr 'unsafe-inline'; img-src 'self' data: https:; object-src 'none'; base-uri 'self';"
    " form-action 'self'; frame-ancestors 'none'"
)


def init_app(app: Flask) -> None:
    """Wire the development guard and the security headers into the app (the proxy headers: trust_proxies)."""
    if app.config.get("ENV") == DEVELOPMENT:
        app.before_request(_answer_this_computer_only)
    app.jinja_env.globals["csp_nonce"] = csp_nonce
    app.after_request(_add_security_headers)


def csp_nonce() -> str:
    """This request's nonce for inline scripts and styles (the same for every block of the page)."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return g.csp_nonce


def security_headers(*, nonce: str, secure: bool) -> list[tuple[str, str]]:
    """The headers every response carries (for layers that answer without Flask, such as /callback's)."""
    headers = [
        ("Content-Security-Policy", CONTENT_SECURITY_POLICY.format(nonce=nonce)),
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "DENY"),
        ("Referrer-Policy", "same-origin"),
    ]
    if secure:
        headers.append(("Strict-Transport-Security", f"max-age={HSTS_SECONDS}"))
    return headers


def _add_security_headers(response: Response) -> Response:
    for name, value in security_headers(nonce=csp_nonce(), secure=request.is_secure):
        response.headers.setdefault(name, value)
    return response


def session_cookie_dropped() -> bool:
    """Whether the browser drops the session cookie on this request: a Secure cookie is not kept over plain HTTP
    (except on this computer's own address, which browsers treat as secure), so sign-in and forms cannot work."""
    if not current_app.config.get("SESSION_COOKIE_SECURE") or request.is_secure:
        return False
    return urlsplit(f"//{request.host}").hostname not in LOOPBACK_HOSTS


def trust_proxies(app: Flask) -> None:
    """Take the client's address and scheme from the headers the TRUSTED_PROXY_COUNT proxies in front of the app
    set (the host is not taken from them: a client could forge it). Called last, so that it is the outermost
    layer and the layers answering without Flask (/callback, /r/) see the fixed address and scheme too."""
    count = app.config.get("TRUSTED_PROXY_COUNT", 0)
    if count > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=0, x_port=0, x_prefix=0)


def from_elsewhere(*, remote_addr: str | None, forwarded: str | None) -> bool:
    """Whether a request comes from another computer, or through a proxy on this one (development mode refuses
    it)."""
    return bool(forwarded) or not _is_loopback(remote_addr)


def _answer_this_computer_only():
    """Development mode runs with public test secrets: refuse anyone not on this computer, including requests a
    proxy on this computer forwards from elsewhere."""
    forwarded = request.headers.get("X-Forwarded-For") or request.headers.get("Forwarded")
    if from_elsewhere(remote_addr=request.remote_addr, forwarded=forwarded):
        message = _(
            "Development mode (CRM_ENV=development) answers only requests from this computer. On a server, run the"
            " CRM in production mode with its own secrets."
        )
        return Response(message, 403, mimetype="text/plain")
    return None


def _is_loopback(address: str | None) -> bool:
    try:
        return ipaddress.ip_address(address or "").is_loopback
    except ValueError:
        return False
