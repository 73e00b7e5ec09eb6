"""Route statistics: visits, logins, friends added (new / returning / unblocked), friends who were already
friends, blocks later, per route and per Tokyo day; and the figures other features add (conversions, answered
surveys) through `register_figure`, so this package names none of them."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import and_, case, func
from sqlmodel import Session, select

from crm.friends.models import Friend, FriendStatus
from crm.routes.models import ADDED_KINDS, ArrivalKind, RouteArrival, RouteVisit
from crm.sql import tokyo_date
from crm.timeutil import TOKYO

DAYS = 30
# counter(session, route_ids) -> {route_id: figure}; what friends who came through each route did afterwards
FigureCounter = Callable[[Session, list[int]], dict[int, int]]


@dataclass(frozen=True)
class RegisteredFigure:
    key: str
    label: str  # N_() message id
    count: FigureCounter


_figures: dict[str, RegisteredFigure] = {}


def register_figure(key: str, label: str, count: FigureCounter) -> None:
    """Add a per-route figure (the conversions package registers "conversions" here): shown in the route list,
    on the route's page and in the CSV export."""
    _figures[key] = RegisteredFigure(key, label, count)


def registered_figures() -> list[RegisteredFigure]:
    return list(_figures.values())


@dataclass
class RouteFigures:
    """One route's counts."""

    visits: int = 0
    logins: int = 0
    new: int = 0
    returning: int = 0
    unblocked: int = 0
    existing: int = 0
    blocked_later: int = 0
    extra: dict[str, int] = field(default_factory=dict)

    @property
    def added(self) -> int:
        return self.new + self.returning + self.unblocked

    @property
    def login_only(self) -> int:
        return self.logins - self.added - self.existing


def figures(session: Session, route_ids: list[int]) -> dict[int, RouteFigures]:
    """Each route's counts (a few grouped queries for all of them)."""
    found = {route_id: RouteFigures() for route_id in route_ids}
    if not route_ids:
        return found
    visits = select(RouteVisit.route_id, func.count()).where(RouteVisit.route_id.in_(route_ids))
    for route_id, count in session.exec(visits.group_by(RouteVisit.route_id)):
        found[route_id].visits = count
    kinds = select(RouteArrival.route_id, RouteArrival.kind, func.count()).where(RouteArrival.route_id.in_(route_ids))
    for route_id, kind, count in session.exec(kinds.group_by(RouteArrival.route_id, RouteArrival.kind)):
        found[route_id].logins += count
        if kind in (*ADDED_KINDS, ArrivalKind.EXISTING):
            setattr(found[route_id], kind, count)
    for route_id, count in session.exec(_blocked_later(route_ids)):
        found[route_id].blocked_later = count
    for figure in registered_figures():
        for route_id, count in figure.count(session, route_ids).items():
            if route_id in found:
                found[route_id].extra[figure.key] = count
    return found


def _blocked_later(route_ids: list[int]):
    """Friends added through the route who have blocked the account since (each friend once per route)."""
    return (
        select(RouteArrival.route_id, func.count(func.distinct(RouteArrival.friend_id)))
        .join(Friend, Friend.id == RouteArrival.friend_id)
        .where(
            RouteArrival.route_id.in_(route_ids),
            RouteArrival.kind.in_(ADDED_KINDS),
            Friend.status == FriendStatus.BLOCKED,
            Friend.blocked_at > RouteArrival.settled_at,
        )
        .group_by(RouteArrival.route_id)
    )


def days_until(now: datetime, days: int = DAYS) -> list[date]:
    today = now.astimezone(TOKYO).date()
    return [today - timedelta(days=offset) for offset in range(days - 1, -1, -1)]


def daily(session: Session, route_id: int, *, now: datetime, days: int = DAYS) -> dict[str, list[int]]:
    """Visits, logins and friends added per Tokyo day over the last `days` days (oldest first)."""
    dates = days_until(now, days)
    since = datetime.combine(dates[0], datetime.min.time(), tzinfo=TOKYO)
    visits = _per_day(session, RouteVisit.visited_at, RouteVisit.route_id == route_id, since=since)
    logins = _per_day(session, RouteArrival.logged_in_at, RouteArrival.route_id == route_id, since=since)
    added = _per_day(
        session,
        RouteArrival.settled_at,
        and_(RouteArrival.route_id == route_id, RouteArrival.kind.in_(ADDED_KINDS)),
        since=since,
    )
    return {
        "dates": dates,
        "visits": [visits.get(d, 0) for d in dates],
        "logins": [logins.get(d, 0) for d in dates],
        "added": [added.get(d, 0) for d in dates],
    }


def _per_day(session: Session, column, condition, *, since: datetime) -> dict[date, int]:
    day = tokyo_date(session, column)
    rows = session.exec(select(day, func.count()).where(condition, column >= since).group_by(day)).all()
    return {date.fromisoformat(str(value)): count for value, count in rows}


def unattributed_adds(session: Session, *, since: datetime) -> int:
    """Friends who added the account (all routes and none) since a time: the estimate shown when no LINE Login
    channel attributes adds to routes."""
    query = select(func.count()).select_from(Friend).where(Friend.last_followed_at >= since)
    return session.exec(query).one()


def friend_routes(session: Session, friend_id: int) -> list[dict]:
    """The routes a friend came through: each with its first and latest arrival and how often, first route
    first, then by latest arrival."""
    rows = session.exec(
        select(
            RouteArrival.route_id,
            func.min(RouteArrival.logged_in_at),
            func.max(RouteArrival.logged_in_at),
            func.count(),
            func.max(case((RouteArrival.first_route.is_(True), 1), else_=0)),
        )
        .where(RouteArrival.friend_id == friend_id)
        .group_by(RouteArrival.route_id)
    ).all()
    kinds: dict[int, list[str]] = defaultdict(list)
    query = select(RouteArrival.route_id, RouteArrival.kind).where(RouteArrival.friend_id == friend_id)
    for route_id, kind in session.exec(query.order_by(RouteArrival.id)):
        kinds[route_id].append(kind)
    found = [
        {
            "route_id": r,
            "first_at": first,
            "last_at": last,
            "times": n,
            "first_route": bool(is_first),
            "kinds": kinds[r],
        }
        for r, first, last, n, is_first in rows
    ]
    return sorted(found, key=lambda row: (not row["first_route"], -row["last_at"].timestamp()))
