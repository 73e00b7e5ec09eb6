"""POST /callback answered by a small WSGI layer in front of Flask.

LINE's webhook needs none of the console's request machinery (request context, cookie session, CSRF, locale,
before- and after-request hooks), which cost as much CPU per request as the floor of a bare handler. The layer
reads the body, hands it to `views.receive` (signature, parsing, storing each event and committing it) inside an
application context (the process's webhook consumer waits meanwhile: see crm.webhook.consumer), and answers with
the same JSON, security headers and log lines as the Flask view. In development mode a request from another
computer (or through a proxy) goes on to Flask, which refuses it.
"""

from __future__ import annotations

import json
import secrets
import time
from http import HTTPStatus

from flask import Flask
from werkzeug.wsgi import get_input_stream

from crm import security
from crm.config import DEVELOPMENT
from crm.logging_setup import log_request
from crm.webhook.consumer import event_consumer
from crm.webhook.views import receive

PATH = "/callback"


class CallbackLayer:
    """WSGI middleware: answers POST /callback itself; passes everything else on."""

    def __init__(self, wsgi_app, app: Flask):
        self.wsgi_app, self.app = wsgi_app, app
        self.development = app.config.get("ENV") == DEVELOPMENT

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO") != PATH or environ.get("REQUEST_METHOD") != "POST" or self._refused(environ):
            return self.wsgi_app(environ, start_response)
        started = time.perf_counter()
        limit = self.app.config["WEBHOOK_MAX_BYTES"]
        body = get_input_stream(environ, max_content_length=None).read(limit + 1)
        with self.app.app_context(), event_consumer(self.app).answering():
            status, answer = receive(self.app, body, environ.get("HTTP_X_LINE_SIGNATURE"))
        if status != 200:
            log_request("POST", PATH, status, started=started)
        content = json.dumps(answer).encode()
        headers = [("Content-Type", "application/json"), ("Content-Length", str(len(content)))]
        secure = environ.get("wsgi.url_scheme") == "https"
        headers += security.security_headers(nonce=secrets.token_urlsafe(16), secure=secure)
        start_response(f"{status} {HTTPStatus(status).phrase}", headers)
        return [content]

    def _refused(self, environ) -> bool:
        if not self.development:
            return False
        forwarded = environ.get("HTTP_X_FORWARDED_FOR") or environ.get("HTTP_FORWARDED")
        return security.from_elsewhere(remote_addr=environ.get("REMOTE_ADDR"), forwarded=forwarded)
