"""HTTP hardening shared by every page: the client's address behind proxies, development mode answering this
computer only, and the security headers of each response."""

from __future__ import annotations

import ipaddress

from flask import Flask, Response, current_app, request
from flask_babel import gettext as _
from werkzeug.middleware.proxy_fix import ProxyFix

from crm.config import DEVELOPMENT

LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")


def init_app(app: Flask) -> None:
    """Wire the proxy headers, the development guard and the security headers into the app."""
    _trust_proxies(app, app.config.get("TRUSTED_PROXY_COUNT", 0))
    if app.config.get("ENV") == DEVELOPMENT:
        app.before_request(_answer_this_computer_only)


def session_cookie_dropped() -> bool:
    """Whether the browser drops the session cookie on this request: a Secure cookie is not kept over plain HTTP
    (except on this computer's own address, which browsers treat as secure), so sign-in and forms cannot work."""
    if not current_app.config.get("SESSION_COOKIE_SECURE") or request.is_secure:
        return False
    return request.host.rsplit(":", 1)[0].strip("[]") not in LOOPBACK_HOSTS


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
