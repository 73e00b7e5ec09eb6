"""Recording a conversion, whichever way it came in (the /cv.js script, the API, a purchases CSV).

Idempotent: an order id is recorded once per point (a repeated order id answers with the conversion already
stored), and on a first-only point a friend converts once (`first_key` = friend id, unique per point), both
held by unique constraints, so two requests at once still store one row. A new conversion runs the point's
actions through the action engine, once (trigger key `conversion:<id>`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select
from sqlmodel import Session

from crm.actions import engine as action_engine
from crm.conversions.errors import ConversionError, NotFound
from crm.conversions.models import (
    MAX_VALUE_YEN,
    ORDER_ID_MAX_CHARS,
    Conversion,
    ConversionPoint,
    Counting,
    Source,
    ValueType,
)
from crm.conversions.points import get_point
from crm.errors import N_
from crm.friends.models import ERASED_PREFIX, Friend
from crm.sql import insert_for
from crm.timeutil import utcnow
from crm.tracking.models import LinkClick


class Outcome(StrEnum):
    """What recording did."""

    CREATED = "created"
    DUPLICATE_ORDER = "duplicate_order"  # this order id was already recorded on the point
    ALREADY_CONVERTED = "already_converted"  # a first-only point the friend had converted on


@dataclass(frozen=True)
class Recorded:
    """The conversion stored (new or the one already there) and what recording did."""

    conversion: Conversion
    outcome: Outcome

    @property
    def created(self) -> bool:
        return self.outcome == Outcome.CREATED


def find_friend(session: Session, *, friend_id: int | None = None, line_user_id: str | None = None) -> Friend:
    """The friend by id or LINE user id (erased friends are not found); raise NotFound."""
    friend = None
    if friend_id is not None:
        friend = session.get(Friend, friend_id)
    elif line_user_id:
        friend = session.scalars(select(Friend).where(Friend.line_user_id == line_user_id)).first()
    if friend is None or friend.line_user_id.startswith(ERASED_PREFIX):
        raise NotFound(N_("No such friend."))
    return friend


def click_of(session: Session, click_id: int) -> LinkClick:
    """A friend's stored click (from a verified click id); raise NotFound."""
    click = session.get(LinkClick, click_id)
    if click is None or click.friend_id is None:
        raise NotFound(N_("This click id does not belong to a friend's click."))
    return click


def check_value(point: ConversionPoint, value) -> int | None:
    """The value to store: yen on a yen point (whole, 0 to the limit), nothing on a count-only point."""
    if point.value_type == ValueType.NONE:
        return None
    if value is None:
        raise ConversionError(N_("Enter the amount in yen."))
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_VALUE_YEN:
        raise ConversionError(N_("The amount must be a whole number of yen from 0 to %(max)s."), max=MAX_VALUE_YEN)
    return value


def check_order_id(order_id) -> str | None:
    """An order id trimmed, or None; raise ConversionError when too long."""
    order_id = (order_id or "").strip() if isinstance(order_id, str) else order_id
    if order_id and (not isinstance(order_id, str) or len(order_id) > ORDER_ID_MAX_CHARS):
        raise ConversionError(N_("An order id has at most %(max)d characters."), max=ORDER_ID_MAX_CHARS)
    return order_id or None


def record_conversion(
    session: Session,
    *,
    point_id: int,
    friend_id: int,
    source: Source,
    value: int | None = None,
    order_id: str | None = None,
    occurred_at: datetime | None = None,
    click: LinkClick | None = None,
) -> Recorded:
    """Store a conversion once and run the point's actions for a new one (see the module docstring)."""
    point = get_point(session, point_id)
    values = {
        "point_id": point.id,
        "friend_id": friend_id,
        "value": check_value(point, value),
        "order_id": check_order_id(order_id),
        "first_key": friend_id if point.counting == Counting.FIRST else None,
        "occurred_at": occurred_at or utcnow(),
        "recorded_at": utcnow(),
        "source": str(source),
        "click_id": click.id if click else None,
        "link_id": click.link_id if click else None,
        "broadcast_id": click.broadcast_id if click else None,
    }
    table = Conversion.__table__
    statement = insert_for(session, table).values(**values).on_conflict_do_nothing().returning(table.c.id)
    new_id = session.connection().execute(statement).scalar()
    if new_id is None:
        return _existing(session, point, values)
    conversion = session.get(Conversion, new_id)
    action_engine.run_actions(
        session,
        friend_id=friend_id,
        actions=json.loads(point.actions),
        trigger_key=f"conversion:{new_id}",
        source=f"conversion:{point.id}",
    )
    return Recorded(conversion, Outcome.CREATED)


def _existing(session: Session, point: ConversionPoint, values: dict) -> Recorded:
    """The conversion that made the insert conflict: the same order id, else the friend's first."""
    if values["order_id"] is not None:
        query = select(Conversion).where(Conversion.point_id == point.id, Conversion.order_id == values["order_id"])
        found = session.scalars(query).first()
        if found is not None:
            return Recorded(found, Outcome.DUPLICATE_ORDER)
    query = select(Conversion).where(Conversion.point_id == point.id, Conversion.first_key == values["friend_id"])
    return Recorded(session.scalars(query).one(), Outcome.ALREADY_CONVERTED)


def identify(
    session: Session, *, friend_id: int | None = None, line_user_id: str | None = None, click_id: int | None = None
) -> tuple[int, LinkClick | None]:
    """(friend id, click) from exactly one identifier: a friend id, a LINE user id or a verified click's id."""
    given = [value for value in (friend_id, line_user_id, click_id) if value is not None]
    if len(given) != 1:
        raise ConversionError(N_("Give exactly one of friend_id, line_user_id and click_id."))
    if click_id is not None:
        click = click_of(session, click_id)
        return find_friend(session, friend_id=click.friend_id).id, click
    return find_friend(session, friend_id=friend_id, line_user_id=line_user_id).id, None
