"""One error body for every API failure: {"error": {"code", "message", "details"}}, never an HTML page."""

from __future__ import annotations

import logging

from flask import jsonify, request
from werkzeug.exceptions import HTTPException

from crm.errors import TranslatableError

log = logging.getLogger(__name__)

CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "rate_limited",
}
MESSAGES = {
    400: "The request could not be read (is the body valid JSON?).",
    401: "A valid bearer token is required (Authorization: Bearer <token>).",
    403: "This token's role does not allow this operation.",
    404: "No such resource.",
    405: "This path does not accept that method.",
    413: "The request body is too large.",
    415: "Send the body as application/json.",
    422: "The request has invalid values.",
    500: "Something went wrong on our side; nothing was changed.",
}


class ApiError(Exception):
    """An expected failure a view raises: HTTP status, stable code, English message, optional details."""

    def __init__(self, status: int, code: str, message: str, details: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details or {}


def not_found(what: str, ident) -> ApiError:
    return ApiError(404, "not_found", f"{what} {ident} does not exist")


STATUS_OF_DOMAIN_CODE = {"not_found": 404, "conflict": 409, "duplicate_name": 409}


def domain_error(error: TranslatableError, *, field: str | None = None, details: dict | None = None) -> ApiError:
    """A domain error as an API error: its code (404/409 for missing or conflicting, else 422), its English
    message, and as details {field: [message]} for the field it names (or `field`), else the details given."""
    message = str(error)
    if details is None:
        where = field or error.field
        index = getattr(error, "index", None)
        if where and index is not None:
            where = f"{where}[{index}]"
        details = {where: [message]} if where else {}
    return ApiError(STATUS_OF_DOMAIN_CODE.get(error.code, 422), error.code, message, details)


def error_response(status: int, code: str, message: str, details: dict | None = None, headers=None):
    """The JSON error response."""
    response = jsonify({"error": {"code": code, "message": message, "details": details or {}}})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="api"'
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def handle_api_error(error: ApiError):
    return error_response(error.status, error.code, error.message, error.details)


def handle_domain_error(error: TranslatableError):
    """A domain error no view caught: nothing is committed, the body says why."""
    from crm.db import get_session

    get_session().rollback()
    return handle_api_error(domain_error(error))


def handle_http_error(error: HTTPException):
    """Werkzeug and webargs errors (bad JSON, validation, 404, 405, 413) in the API's format."""
    data = getattr(error, "data", None) or {}
    details = data.get("messages") or data.get("errors") or {}
    status = error.code or 500
    headers = {"Allow": ", ".join(error.valid_methods)} if getattr(error, "valid_methods", None) else None
    message = data.get("message") or MESSAGES.get(status) or error.description or error.name
    return error_response(status, CODES.get(status, "error"), message, details, headers)


def handle_unexpected(error: Exception):
    """A bug: log it, roll back, answer in the API's format."""
    from crm.db import get_session

    log.exception("API error on %s %s", request.method, request.path)
    get_session().rollback()
    return error_response(500, "internal_error", MESSAGES[500])


def handle_too_deep(_error: RecursionError):
    """JSON nested thousands of levels deep: refused as unreadable."""
    from crm.db import get_session

    get_session().rollback()
    return error_response(400, "bad_request", "The JSON body is nested too deeply.")


def install(blueprint) -> None:
    """Register the handlers on an API blueprint."""
    blueprint.register_error_handler(ApiError, handle_api_error)
    blueprint.register_error_handler(TranslatableError, handle_domain_error)
    blueprint.register_error_handler(RecursionError, handle_too_deep)
    blueprint.register_error_handler(HTTPException, handle_http_error)
    blueprint.register_error_handler(Exception, handle_unexpected)
