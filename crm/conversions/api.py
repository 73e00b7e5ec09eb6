"""/api/v1/conversions: record a conversion server to server (idempotent by point and order id), and list them."""

from __future__ import annotations

from flask import current_app
from flask_smorest import Blueprint
from sqlmodel import select

from crm.api import auth, errors
from crm.api.pages import decode_id_cursor, page
from crm.api.schemas import ErrorSchema, page_of
from crm.conversions import recording
from crm.conversions.api_schemas import ConversionCreate, ConversionListArgs, ConversionRecorded, ConversionSchema
from crm.conversions.errors import NotFound
from crm.conversions.models import Conversion, Source
from crm.db import get_session, unit_of_work
from crm.errors import N_
from crm.tracking import click_ids

blp = Blueprint("api_conversions", __name__, url_prefix="/api/v1", description="Conversions (コンバージョン)")
errors.install(blp)


def conversion_dict(conversion: Conversion) -> dict:
    return {
        "id": conversion.id,
        "point_id": conversion.point_id,
        "friend_id": conversion.friend_id,
        "value": conversion.value,
        "order_id": conversion.order_id,
        "occurred_at": conversion.occurred_at,
        "source": conversion.source,
        "link_id": conversion.link_id,
        "broadcast_id": conversion.broadcast_id,
    }


@blp.route("/conversions", methods=["POST"])
@auth.guard(blp, "conversions.manage")
@blp.arguments(ConversionCreate)
@blp.response(201, ConversionRecorded)
@blp.alt_response(200, schema=ConversionRecorded, description="Recorded before: the stored conversion, not a new one")
@blp.alt_response(404, schema=ErrorSchema, description="No such point, friend or click")
def create_conversion(body: dict):
    """Record a conversion of a friend given by friend_id, line_user_id or click_id (one of them)."""
    click_id = None
    if body["click_id"] is not None:
        click_id = click_ids.verify(body["click_id"], current_app.config["SECRET_KEY"])
        if click_id is None:
            raise NotFound(N_("This click id is not valid."))
    db = get_session()
    with unit_of_work():
        friend_id, click = recording.identify(
            db, friend_id=body["friend_id"], line_user_id=body["line_user_id"], click_id=click_id
        )
        recorded = recording.record_conversion(
            db,
            point_id=body["point_id"],
            friend_id=friend_id,
            source=Source.API,
            value=body["value"],
            order_id=body["order_id"],
            occurred_at=body["occurred_at"],
            click=click,
        )
        answer = {**conversion_dict(recorded.conversion), "status": str(recorded.outcome)}
    return answer, 201 if recorded.created else 200


@blp.route("/conversions")
@auth.guard(blp, "reports.view")
@blp.arguments(ConversionListArgs, location="query", as_kwargs=True)
@blp.response(200, page_of(ConversionSchema))
def list_conversions(limit: int, cursor: str | None = None, friend_id: int | None = None, point_id: int | None = None):
    """Conversions by id, of one friend or one point if asked."""
    query = select(Conversion).where(Conversion.id > (decode_id_cursor(cursor) or 0))
    if friend_id is not None:
        query = query.where(Conversion.friend_id == friend_id)
    if point_id is not None:
        query = query.where(Conversion.point_id == point_id)
    rows = get_session().scalars(query.order_by(Conversion.id).limit(limit + 1)).all()
    rows, next_cursor = page(list(rows), limit=limit)
    return {"data": [conversion_dict(row) for row in rows], "next_cursor": next_cursor}
