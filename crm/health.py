"""GET /healthz: is the app up, and can it reach its database?"""

from __future__ import annotations

import logging

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from crm.db import get_engine

bp = Blueprint("health", __name__)
log = logging.getLogger(__name__)


@bp.get("/healthz")
def healthz():
    """Report app and database status; 503 when the database is unreachable."""
    try:
        with get_engine(current_app).connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as error:
        log.error("healthz database_error=%s", type(error).__name__)
        return jsonify(status="error", database="unreachable"), 503
    return jsonify(status="ok", database="ok")
