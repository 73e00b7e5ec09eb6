"""What friends who came through an inflow route bought afterwards, as figures of the routes' statistics: how
many of the friends added through a route converted since (each friend once), and the value in yen of those
conversions."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import Session, select

from crm.conversions.models import Conversion
from crm.errors import N_
from crm.routes.models import ADDED_KINDS, RouteArrival
from crm.routes.stats import register_figure


def _per_route(session: Session, route_ids: list[int], figure) -> dict[int, int]:
    """`figure` per route over the conversions of friends added through it, made after their arrival."""
    query = (
        select(RouteArrival.route_id, figure)
        .join(Conversion, Conversion.friend_id == RouteArrival.friend_id)
        .where(
            RouteArrival.route_id.in_(route_ids),
            RouteArrival.kind.in_(ADDED_KINDS),
            Conversion.occurred_at >= RouteArrival.settled_at,
        )
        .group_by(RouteArrival.route_id)
    )
    return {route_id: int(value) for route_id, value in session.exec(query).all()}


def converted_after_arrival(session: Session, route_ids: list[int]) -> dict[int, int]:
    return _per_route(session, route_ids, func.count(func.distinct(Conversion.friend_id)))


def value_after_arrival(session: Session, route_ids: list[int]) -> dict[int, int]:
    """Yen of those conversions (a friend who arrived through a route twice counts once per arrival)."""
    return _per_route(session, route_ids, func.coalesce(func.sum(Conversion.value), 0))


def register() -> None:
    register_figure("converted", N_("Converted afterwards"), converted_after_arrival)
    register_figure("conversion_value", N_("Conversion value afterwards (yen)"), value_after_arrival)
