"""The REST API at /api/v1: bearer tokens with console roles, JSON in and out, an OpenAPI 3 document.

Built on flask-smorest (marshmallow schemas → webargs validation + apispec document). Its app-wide error
handler is not installed: the console keeps its HTML error pages, and each API blueprint answers errors as JSON.
"""

from __future__ import annotations

from flask import Flask, request
from flask_smorest import Api

from crm.api import errors
from crm.api.schemas import ErrorSchema

PREFIX = "/api/v1"
MAX_BODY_BYTES = 1024 * 1024
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


def blueprints() -> list:
    """The API's blueprints, in documentation order."""
    from crm.broadcasts import api as broadcasts_api
    from crm.friends import api as friends
    from crm.friends import api_data as friend_data
    from crm.segments import api as segments_api
    from crm.tags import api as tags
    from surveys import api as surveys_api

    return [friends.blp, friend_data.blp, tags.blp, surveys_api.blp, segments_api.blp, broadcasts_api.blp]


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
    """Register the API blueprints, the OpenAPI document, CSRF exemption and the JSON 404/405."""
    from crm.console.auth import csrf

    for key, value in SETTINGS.items():
        app.config.setdefault(key, value)
    api = CrmApi(app)
    app.extensions["crm_api"] = api
    for blp in blueprints():
        api.register_blueprint(blp)
        csrf.exempt(blp)
    app.before_request(_limit_body)
