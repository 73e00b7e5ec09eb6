"""Error pages in the staff member's language instead of Werkzeug's English defaults."""

from __future__ import annotations

from flask import Flask, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from crm.security import session_cookie_dropped

MESSAGES = {
    400: _l("The request could not be understood. Go back and try again."),
    403: _l("Your role does not allow this page or action. Ask an admin if you need it."),
    404: _l("This page does not exist, or what it showed has been deleted."),
    405: _l("This address does not accept that kind of request."),
    413: _l("What you sent is too large."),
    429: _l("Too many requests. Wait a moment and try again."),
}
HTTPS_MESSAGE = _l(
    "This console signs in over HTTPS only, and this page was opened over plain HTTP. Open it with an https://"
    " address; if a proxy in front of the CRM already serves HTTPS, set TRUSTED_PROXY_COUNT so the CRM can tell."
)
CSRF_MESSAGE = _l("The form expired or came from another page. Reload the page and send it again; nothing was changed.")


def _render(status: int, message):
    return render_template("errors/error.html", status=status, message=message), status


def handle_http_error(error: HTTPException):
    """Render an HTTP error as a console page (the JSON webhook answers for itself)."""
    if request.path.startswith("/callback") or error.code not in MESSAGES:
        return error
    return _render(error.code, MESSAGES[error.code])


def handle_csrf_error(_error: CSRFError):
    """A form without a valid CSRF token: 400 with an explanation, nothing changed (over plain HTTP the browser
    dropped the Secure session cookie holding the token: say so)."""
    return _render(400, HTTPS_MESSAGE if session_cookie_dropped() else CSRF_MESSAGE)


def init_app(app: Flask) -> None:
    """Register the handlers."""
    app.register_error_handler(CSRFError, handle_csrf_error)
    app.register_error_handler(HTTPException, handle_http_error)
