"""Conversion figures by SQL aggregates: per point, per friend, and a friend's latest conversions."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import distinct, func, select
from sqlmodel import Session

from crm.conversions.models import Conversion, ConversionPoint


@dataclass(frozen=True)
class Totals:
    """Conversions, converted friends and total value (yen)."""

    conversions: int = 0
    friends: int = 0
    value: int = 0


def point_totals(session: Session) -> dict[int, Totals]:
    """Each point's totals (points without conversions are left out)."""
    query = select(
        Conversion.point_id,
        func.count(),
        func.count(distinct(Conversion.friend_id)),
        func.coalesce(func.sum(Conversion.value), 0),
    ).group_by(Conversion.point_id)
    return {point_id: Totals(count, friends, int(value)) for point_id, count, friends, value in session.execute(query)}


def friend_totals(session: Session, friend_id: int) -> Totals:
    """One friend's conversions and their total value."""
    query = select(
        func.count(), func.count(distinct(Conversion.point_id)), func.coalesce(func.sum(Conversion.value), 0)
    )
    count, _points, value = session.execute(query.where(Conversion.friend_id == friend_id)).one()
    return Totals(count, 1 if count else 0, int(value))


def friend_conversions(session: Session, friend_id: int, *, limit: int = 50) -> list[dict]:
    """A friend's latest conversions, newest first, with the point's name."""
    query = (
        select(
            Conversion.id,
            Conversion.occurred_at,
            Conversion.value,
            Conversion.order_id,
            Conversion.source,
            Conversion.link_id,
            Conversion.broadcast_id,
            ConversionPoint.name.label("point"),
        )
        .join(ConversionPoint, ConversionPoint.id == Conversion.point_id)
        .where(Conversion.friend_id == friend_id)
        .order_by(Conversion.occurred_at.desc(), Conversion.id.desc())
        .limit(limit)
    )
    return [dict(row._mapping) for row in session.execute(query)]
