"""Conversion test helpers: points, conversions and tracked clicks made through the services."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import select

from crm.conversions import points, recording
from crm.conversions.models import Conversion, Source
from crm.db import get_engine, session_scope
from crm.staff.audit import Actor
from crm.tracking import links as tracked_links

STAFF = Actor.system("test")


def make_point(app, name: str = "購入", *, value_type: str = "yen", counting: str = "every", **values) -> int:
    with session_scope(get_engine(app)) as session:
        point = points.save_point(session, actor=STAFF, name=name, value_type=value_type, counting=counting, **values)
        return point.id


def convert(app, point_id: int, friend_id: int, *, value=None, order_id=None, at: datetime | None = None):
    """Record a conversion as the API would; return its outcome."""
    with session_scope(get_engine(app)) as session:
        recorded = recording.record_conversion(
            session,
            point_id=point_id,
            friend_id=friend_id,
            source=Source.API,
            value=value,
            order_id=order_id,
            occurred_at=at,
        )
        return recorded.outcome


def conversions(app) -> list[Conversion]:
    with session_scope(get_engine(app)) as session:
        return list(session.scalars(select(Conversion).order_by(Conversion.id)))


def tracked_path(app, friend_id: int, destination: str, *, broadcast_id: int | None = None) -> str:
    """The /r/ path of the friend's token for a tracked link to destination."""
    with session_scope(get_engine(app)) as session:
        link = tracked_links.create_link(session, destination=destination, broadcast_id=broadcast_id)
        return "/r/" + tracked_links.token_for(session, link_id=link.id, friend_id=friend_id)
