"""Error responses: LINE's shape on the Messaging API, a plain one on the control API."""

from __future__ import annotations

from flask import Flask, jsonify, request
from werkzeug.exceptions import HTTPException


class LineError(Exception):
    """An error answered the way LINE answers it: {"message", "details"?}."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        details: list | None = None,
        headers: dict | None = None,
        extra: dict | None = None,
    ):
        super().__init__(message)
        self.status, self.message = status, message
        self.details, self.headers, self.extra = details, headers or {}, extra or {}

    def body(self) -> dict:
        """The JSON body LINE sends with this error."""
        body = {"message": self.message}
        if self.details:
            body["details"] = self.details
        return {**body, **self.extra}


class SimError(Exception):
    """An error of the control API: {"error": message}."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def invalid_body(details: list[dict]) -> LineError:
    """LINE's 400 for a request body that breaks the rules."""
    return LineError(400, f"The request body has {len(details)} error(s)", details=details)


def not_found() -> LineError:
    """LINE's plain 404."""
    return LineError(404, "Not found")


def init_app(app: Flask) -> None:
    """Register the handlers that turn errors into JSON responses."""

    @app.errorhandler(LineError)
    def line_error(error: LineError):
        return jsonify(error.body()), error.status, error.headers

    @app.errorhandler(SimError)
    def sim_error(error: SimError):
        return jsonify({"error": error.message}), error.status

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if request.path.startswith("/v2/"):
            return jsonify({"message": "Not found" if error.code == 404 else error.name}), error.code
        if request.path.startswith("/_sim/"):
            return jsonify({"error": error.description}), error.code
        return error
