"""Conversion points: created and changed by staff (audited), their allowed origins, and the tracked links to
those origins, which carry a click id."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from sqlalchemy import false, or_, select, update
from sqlmodel import Session

from crm.actions import engine as action_engine
from crm.conversions.errors import ConversionError, NotFound
from crm.conversions.models import NAME_MAX_CHARS, ConversionPoint, Counting, ValueType
from crm.errors import N_
from crm.staff.audit import Actor, record
from crm.timeutil import utcnow
from crm.tracking.models import TrackedLink

MAX_ORIGINS = 20


def get_point(session: Session, point_id: int) -> ConversionPoint:
    """The point, or NotFound."""
    point = session.get(ConversionPoint, point_id) if isinstance(point_id, int) else None
    if point is None:
        raise NotFound(N_("Conversion point %(id)s does not exist."), id=point_id)
    return point


def list_points(session: Session) -> list[ConversionPoint]:
    """Every point by name."""
    return list(session.scalars(select(ConversionPoint).order_by(ConversionPoint.name, ConversionPoint.id)))


def origins_of(point: ConversionPoint) -> list[str]:
    """The point's allowed origins."""
    return [line for line in point.allowed_origins.splitlines() if line]


def check_origins(text: str) -> list[str]:
    """Origins typed one a line (`https://shop.example`, a port allowed), normalised; raise ConversionError."""
    origins = []
    for line in (text or "").split():
        try:
            parts = urlsplit(line.strip().rstrip("/"))
            parts.port  # noqa: B018  (raises ValueError for a bad port)
        except ValueError:
            parts = None
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname or parts.path:
            raise ConversionError(N_("%(origin)s is not an origin such as https://shop.example."), origin=line[:80])
        origin = f"{parts.scheme}://{parts.netloc.lower()}"
        if origin not in origins:
            origins.append(origin)
    if len(origins) > MAX_ORIGINS:
        raise ConversionError(N_("At most %(max)d origins."), max=MAX_ORIGINS)
    return origins


def _checked(session: Session, *, name: str, value_type: str, counting: str, origins: str, actions) -> dict:
    name = (name or "").strip()
    if not name or len(name) > NAME_MAX_CHARS:
        raise ConversionError(N_("Enter a name of at most %(max)d characters."), max=NAME_MAX_CHARS)
    if value_type not in tuple(ValueType) or counting not in tuple(Counting):
        raise ConversionError(N_("Choose a value type and a way of counting."))
    return {
        "name": name,
        "value_type": value_type,
        "counting": counting,
        "allowed_origins": "\n".join(check_origins(origins)),
        "actions": json.dumps(action_engine.validate_actions(session, actions), ensure_ascii=False, sort_keys=True),
    }


def _snapshot(point: ConversionPoint) -> dict:
    return {
        "name": point.name,
        "value_type": point.value_type,
        "counting": point.counting,
        "allowed_origins": origins_of(point),
        "actions": json.loads(point.actions),
    }


def _name_taken(session: Session, name: str, point_id: int | None) -> bool:
    query = select(ConversionPoint.id).where(ConversionPoint.name == name)
    return any(found != point_id for found in session.scalars(query))


def save_point(
    session: Session,
    *,
    actor: Actor,
    point_id: int | None = None,
    name: str,
    value_type: str,
    counting: str,
    origins: str = "",
    actions=None,
) -> ConversionPoint:
    """Create a point (point_id None) or change one; audited; links to its origins start carrying click ids."""
    values = _checked(session, name=name, value_type=value_type, counting=counting, origins=origins, actions=actions)
    if _name_taken(session, values["name"], point_id):
        raise ConversionError(N_("A conversion point with this name already exists."))
    point = ConversionPoint() if point_id is None else get_point(session, point_id)
    before = None if point_id is None else _snapshot(point)
    for key, value in values.items():
        setattr(point, key, value)
    point.updated_at = utcnow()
    session.add(point)
    session.flush()
    action = "conversion_point.created" if point_id is None else "conversion_point.changed"
    record(
        session,
        actor=actor,
        action=action,
        target_type="conversion_point",
        target_id=point.id,
        before=before,
        after=_snapshot(point),
    )
    mark_shop_links(session)
    return point


def all_origins(session: Session) -> set[str]:
    """Every point's allowed origins."""
    return {origin for text in session.scalars(select(ConversionPoint.allowed_origins)) for origin in text.split()}


def _on_origin(destination, origin: str):
    return or_(destination == origin, destination.startswith(origin + "/"), destination.startswith(origin + "?"))


def mark_shop_links(session: Session) -> None:
    """Tracked links to an allowed origin carry a click id; none other does."""
    origins = sorted(all_origins(session))
    on_shop = or_(false(), *(_on_origin(TrackedLink.destination, origin) for origin in origins))
    session.execute(update(TrackedLink).where(on_shop).values(carries_click_id=True))
    session.execute(update(TrackedLink).where(~on_shop, TrackedLink.carries_click_id).values(carries_click_id=False))


def mark_new_link(session: Session, link: TrackedLink) -> None:
    """A new tracked link carries a click id when its destination is on an allowed origin (tracking's hook)."""
    origins = all_origins(session)
    if origins and any(link.destination == o or link.destination.startswith((o + "/", o + "?")) for o in origins):
        link.carries_click_id = True
        session.add(link)
