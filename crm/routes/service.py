"""Saving routes: create and change them (name, folder, actions, when the actions run, whether the account's
friend-added scenarios run too), every change audited. A route's code, and so its URL and QR code, never
changes: printed QR codes keep working."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field

from sqlmodel import Session, select

from crm.actions.engine import validate_actions
from crm.errors import N_, TranslatableError
from crm.routes.models import ActionTiming, InflowRoute
from crm.staff.audit import Actor, record
from crm.timeutil import utcnow

NAME_MAX, FOLDER_MAX = 100, 60
CODE_BYTES = 9  # 12 URL-safe characters: short enough for a small QR code, too many to guess
TARGET = "inflow_route"


class RouteError(TranslatableError):
    """A route that cannot be saved as given."""


@dataclass
class RouteValues:
    """What a staff member sets on a route."""

    name: str
    folder: str | None = None
    actions: list[dict] = field(default_factory=list)
    action_timing: str = ActionTiming.FIRST_ADD
    run_welcome_scenarios: bool = True


def get_route(session: Session, route_id: int) -> InflowRoute:
    route = session.get(InflowRoute, route_id)
    if route is None:
        error = RouteError(N_("This route no longer exists."))
        error.code = "not_found"
        raise error
    return route


def route_by_code(session: Session, code: str) -> InflowRoute | None:
    return session.exec(select(InflowRoute).where(InflowRoute.code == code)).first()


def list_routes(session: Session) -> list[InflowRoute]:
    """Every route, by folder (routes without one first) and name."""
    routes = session.exec(select(InflowRoute).order_by(InflowRoute.name, InflowRoute.id))
    return sorted(routes, key=lambda route: route.folder or "")


def route_actions(route: InflowRoute) -> list[dict]:
    value = json.loads(route.actions or "[]")
    return value if isinstance(value, list) else []


def create_route(session: Session, *, actor: Actor, values: RouteValues) -> InflowRoute:
    """A new route with a fresh random code."""
    checked = _checked(session, values)
    route = InflowRoute(**checked, code=secrets.token_urlsafe(CODE_BYTES))
    session.add(route)
    session.flush()
    record(session, actor=actor, action="route.created", target_type=TARGET, target_id=route.id, after=snapshot(route))
    return route


def update_route(session: Session, *, actor: Actor, route_id: int, values: RouteValues) -> InflowRoute:
    route = get_route(session, route_id)
    before = snapshot(route)
    for key, value in _checked(session, values).items():
        setattr(route, key, value)
    route.updated_at = utcnow()
    session.add(route)
    session.flush()
    record(
        session,
        actor=actor,
        action="route.changed",
        target_type=TARGET,
        target_id=route.id,
        before=before,
        after=snapshot(route),
    )
    return route


def _checked(session: Session, values: RouteValues) -> dict:
    name = (values.name or "").strip()
    if not name or len(name) > NAME_MAX:
        raise _invalid(N_("Enter a name of at most %(limit)s characters."), "name", limit=NAME_MAX)
    folder = (values.folder or "").strip() or None
    if folder is not None and len(folder) > FOLDER_MAX:
        raise _invalid(N_("Enter a folder of at most %(limit)s characters."), "folder", limit=FOLDER_MAX)
    if values.action_timing not in tuple(ActionTiming):
        raise _invalid(N_("Choose when the actions run."), "action_timing")
    actions = validate_actions(session, values.actions)
    return {
        "name": name,
        "folder": folder,
        "actions": json.dumps(actions, ensure_ascii=False),
        "action_timing": values.action_timing,
        "run_welcome_scenarios": bool(values.run_welcome_scenarios),
    }


def _invalid(msgid: str, field_name: str, **params) -> RouteError:
    error = RouteError(msgid, **params)
    error.field = field_name
    return error


def snapshot(route: InflowRoute) -> dict:
    """The route as the audit log keeps it."""
    return {
        "name": route.name,
        "folder": route.folder,
        "code": route.code,
        "actions": route_actions(route),
        "action_timing": route.action_timing,
        "run_welcome_scenarios": route.run_welcome_scenarios,
    }
