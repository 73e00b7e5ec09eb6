"""The REST API at /api/v1: bearer tokens with console roles, JSON in and out, an OpenAPI 3 document.

Built on flask-smorest (marshmallow schemas → webargs validation + apispec document). Its app-wide error
handler is not installed: the console keeps its HTML error pages, and each API blueprint answers errors as JSON.
"""

from __future__ import annotations

from flask import Flask, request
from flask_smorest import Api

from crm.api import errors
from crm.api.schemas import ErrorSchema
from crm.extensions import csrf

PREFIX = "/api/v1"
MAX_BODY_BYTES = 1024 * 1024
API_KEY = "crm_api"
SETTINGS = {
    "API_TITLE": "LINE CRM API",
    "API_VERSION": "v1",
    "OPENAPI_VERSION": "3.0.3",
    "OPENAPI_URL_PREFIX": PREFIX,
    "OPENAPI_JSON_PATH": "openapi.json",
    "API_SPEC_OPTIONS": {
        "info": {
            "description": "Friends, tags, notes, fields, surveys, segments and broadcasts of this CRM. "
            "Authenticate with `Authorization: Bearer <token>` (tokens: console → API tokens)."
        },
        "servers": [{"url": "/"}],
        "components": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}},
    },
}


class CrmApi(Api):
    """flask-smorest's Api without its app-wide JSON error handler (the blueprints install their own)."""

    ERROR_SCHEMA = ErrorSchema
    DEFAULT_ERROR_RESPONSE_NAME = "DEFAULT_ERROR"

    def _register_error_handlers(self):
        pass


def _limit_body():
    """Bodies over MAX_BODY_BYTES get 413 instead of being read; unrouted /api/v1 paths answer in JSON."""
    if not request.path.startswith(PREFIX + "/"):
        return None
    request.max_content_length = MAX_BODY_BYTES
    error = request.routing_exception
    if error is not None and getattr(error, "code", 0) >= 400:  # not the trailing-slash redirect
        return errors.handle_http_error(error)
    return None


def init_app(app: Flask) -> None:
    """Create the Api object (the OpenAPI document) and the JSON 404/405; features add their blueprints with
    `register`, in the order the document lists them."""
    for key, value in SETTINGS.items():
        app.config.setdefault(key, value)
    app.extensions[API_KEY] = CrmApi(app)
    app.before_request(_limit_body)


def register(app: Flask, blp) -> None:
    """Add a feature's API blueprint to the app and its document (bearer tokens replace CSRF there)."""
    app.extensions[API_KEY].register_blueprint(blp)
    csrf.exempt(blp)
