"""/cv.js and POST /cv/collect: conversions reported from the shop's thank-you page.

The script runs on the shop's site: it keeps the click id a conversion-tracking link brought in the site's own
localStorage and posts it back with the point, value and order id. /cv/collect answers only the origins the
point allows (CORS, preflight included, never credentials: no cookie of ours is sent or set), refuses click ids
whose MAC is wrong, and records through the same service as the API (idempotent by point and order id).
"""

from __future__ import annotations

import json
from pathlib import Path

from flask import Blueprint, Response, current_app, request

from crm.conversions import points, recording
from crm.conversions.errors import ConversionError
from crm.conversions.models import ConversionPoint, Source
from crm.db import get_session, unit_of_work
from crm.i18n import message_of
from crm.tracking import click_ids

bp = Blueprint("conversion_collect", __name__)
SCRIPT = Path(__file__).with_name("static_cv.js")
MAX_BODY_BYTES = 4096
PREFLIGHT_SECONDS = 600


def _json(body: dict, status: int, origin: str | None = None) -> Response:
    response = Response(json.dumps(body), status=status, mimetype="application/json")
    response.headers["Cache-Control"] = "no-store"
    if origin:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Vary"] = "Origin"
    return response


@bp.route("/cv.js")
def script():
    """The conversion script (the same for every shop)."""
    response = Response(SCRIPT.read_text(encoding="utf-8"), mimetype="text/javascript")
    response.headers["Cache-Control"] = "public, max-age=3600"
    response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response


@bp.route("/cv/collect", methods=["OPTIONS"])
def preflight():
    """CORS preflight: allowed for an origin some point allows."""
    origin = request.headers.get("Origin")
    allowed = bool(origin) and origin in points.all_origins(get_session())
    get_session().rollback()  # only read: end the request session's transaction before answering
    if not allowed:
        return Response(status=403)
    response = Response(status=204)
    response.headers.update(
        {
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Allow-Methods": "POST",
            "Access-Control-Allow-Headers": "Content-Type",
            "Access-Control-Max-Age": str(PREFLIGHT_SECONDS),
            "Vary": "Origin",
        }
    )
    return response


def _body() -> dict | None:
    if (request.content_length or 0) > MAX_BODY_BYTES:
        return None
    try:
        body = json.loads(request.get_data(cache=False, as_text=True) or "null")
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


@bp.route("/cv/collect", methods=["POST"])
def collect():
    """Record the conversion a thank-you page reports (see the module docstring)."""
    origin, body, db = request.headers.get("Origin"), _body(), get_session()
    point_id = body.get("point_id") if body else None
    point = db.get(ConversionPoint, point_id) if isinstance(point_id, int) else None
    if point is None or not origin or origin not in points.origins_of(point):
        db.rollback()
        return _json({"status": "refused"}, 403)
    click_id = click_ids.verify(body.get("click_id"), current_app.config["SECRET_KEY"])
    if click_id is None:
        db.rollback()
        return _json({"status": "refused"}, 403, origin)
    with unit_of_work(ConversionError) as work:
        friend_id, click = recording.identify(db, click_id=click_id)
        recorded = recording.record_conversion(
            db,
            point_id=point.id,
            friend_id=friend_id,
            source=Source.LINK,
            value=body.get("value"),
            order_id=body.get("order_id"),
            click=click,
        )
        status = str(recorded.outcome)
    if work.error is not None:
        return _json({"status": "invalid", "message": message_of(work.error)}, 422, origin)
    return _json({"status": status}, 201 if status == "created" else 200, origin)
