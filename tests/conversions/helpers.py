"""Conversion test helpers: points, conversions and tracked clicks made through the services."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import select

from crm.conversions import points, recording
from crm.conversions.models import Conversion, Source
from crm.db import get_engine, session_scope
from crm.staff.audit import Actor
from crm.timeutil import utcnow
from crm.tracking import links as tracked_links
from tests.factories import make_friend

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


def recent_buyers(app) -> dict[str, int]:
    """購入 (yen) and 会員登録 (no value) and four friends: aki (3,000 yen 5 days ago, 4,000 40 days ago),
    ben (2,000 10 days ago), cho (9,000 60 days ago), dan (6,000 20 days ago, signed up 3 days ago). Bought
    within 30 days: aki, ben, dan; of them 5,000 yen or more in all: aki, dan."""
    buy, sign_up = make_point(app, "購入"), make_point(app, "会員登録", value_type="none", counting="first")
    friends = {name: make_friend(app, n=n, display_name=name) for n, name in enumerate(["aki", "ben", "cho", "dan"])}
    now = utcnow()
    for name, point, value, days_ago in [
        ("aki", buy, 3000, 5),
        ("aki", buy, 4000, 40),
        ("ben", buy, 2000, 10),
        ("cho", buy, 9000, 60),
        ("dan", buy, 6000, 20),
        ("dan", sign_up, None, 3),
    ]:
        order_id = f"{name}-{days_ago}" if value else None
        convert(app, point, friends[name], value=value, order_id=order_id, at=now - timedelta(days=days_ago))
    return {"buy": buy, "sign_up": sign_up, **friends}
