"""Routes on a friend: the friend page's section, the words of the action history ("route:<id>"), the friend's
data export, and erasure (the LINE user id a login recorded is forgotten; the id-only rows stay for counts)."""

from __future__ import annotations

from sqlalchemy import or_, update
from sqlmodel import Session, select

from crm.db import get_session
from crm.errors import N_
from crm.i18n import translate
from crm.privacy.friend_data import iso
from crm.routes.models import InflowRoute, RouteArrival
from crm.routes.stats import friend_routes

ERASED_USER = "erased"


def _names(session: Session, route_ids: list[int]) -> dict[int, str]:
    if not route_ids:
        return {}
    query = select(InflowRoute.id, InflowRoute.name).where(InflowRoute.id.in_(route_ids))
    return dict(session.exec(query).all())


def routes_of_friend(session: Session, friend_id: int) -> list[dict]:
    """The friend's routes with their names."""
    rows = friend_routes(session, friend_id)
    names = _names(session, [row["route_id"] for row in rows])
    deleted = translate(N_("(deleted route)"))
    return [{**row, "name": names.get(row["route_id"], deleted)} for row in rows]


def page_helpers() -> dict:
    """`friend_routes(friend_id)` for the friend page's section."""
    return {"friend_routes": lambda friend_id: routes_of_friend(get_session(), friend_id)}


def describe_source(session: Session, route_id: int) -> str:
    """The history's words for actions a route ran: 「流入経路「…」」."""
    route = session.get(InflowRoute, route_id)
    name = route.name if route else translate(N_("(deleted route)"))
    return translate(N_("Inflow route “%(name)s”"), {"name": name})


def export_routes(session: Session, friend_id: int) -> list[dict]:
    """`routes` of the friend's data export: each arrival through a route."""
    query = (
        select(InflowRoute.name, RouteArrival.kind, RouteArrival.first_route, RouteArrival.logged_in_at)
        .join(InflowRoute, InflowRoute.id == RouteArrival.route_id)
        .where(RouteArrival.friend_id == friend_id)
        .order_by(RouteArrival.id)
    )
    return [
        {"route": name, "kind": kind, "first_route": bool(first), "logged_in_at": iso(at)}
        for name, kind, first, at in session.exec(query)
    ]


def erase_routes(session: Session, *, friend_id: int, line_user_id: str) -> int:
    """Forget the LINE user id on the friend's arrivals, and on logins of that user not linked to them yet."""
    statement = (
        update(RouteArrival)
        .where(or_(RouteArrival.friend_id == friend_id, RouteArrival.line_user_id == line_user_id))
        .values(line_user_id=ERASED_USER)
    )
    return session.exec(statement).rowcount
