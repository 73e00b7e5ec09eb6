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
    """Wire the proxy headers, the development guard and the security headers into the app."""
    _trust_proxies(app, app.config.get("TRUSTED_PROXY_COUNT", 0))
    if app.config.get("ENV") == DEVELOPMENT:
        app.before_request(_answer_this_computer_only)
    app.jinja_env.globals["csp_nonce"] = csp_nonce
    app.after_request(_add_security_headers)


def csp_nonce() -> str:
    """This request's nonce for inline scripts and styles (the same for every block of the page)."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return g.csp_nonce


def _add_security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY.format(nonce=csp_nonce()))
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", f"max-age={HSTS_SECONDS}")
    return response


def session_cookie_dropped() -> bool:
    """Whether the browser drops the session cookie on this request: a Secure cookie is not kept over plain HTTP
    (except on this computer's own address, which browsers treat as secure), so sign-in and forms cannot work."""
    if not current_app.config.get("SESSION_COOKIE_SECURE") or request.is_secure:
        return False
    return urlsplit(f"//{request.host}").hostname not in LOOPBACK_HOSTS


def _trust_proxies(app: Flask, count: int) -> None:
    """Take the client's address and scheme from the headers the `count` proxies in front of the app set
    (the host is not taken from them: a client could forge it)."""
    if count > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=0, x_port=0, x_prefix=0)


def _answer_this_computer_only():
    """Development mode runs with public test secrets: refuse anyone not on this computer, including requests a
    proxy on this computer forwards from elsewhere."""
    forwarded = request.headers.get("X-Forwarded-For") or request.headers.get("Forwarded")
    if forwarded or not _is_loopback(request.remote_addr):
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
