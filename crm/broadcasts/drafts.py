"""Broadcast drafts: create, edit and copy, every field checked and every change audit-logged."""

from __future__ import annotations

from sqlmodel import Session

from crm.broadcasts import options
from crm.broadcasts.lifecycle import get
from crm.broadcasts.models import Broadcast
from crm.broadcasts.models import BroadcastStatus as S
from crm.broadcasts.options import BroadcastError
from crm.errors import N_
from crm.staff.audit import Actor, record
from crm.timeutil import utcnow


def _checked(
    session: Session,
    *,
    name,
    purpose,
    messages,
    segment_id,
    segment_tree,
    track_links,
    control_percent,
    cap_count,
    cap_days,
    goal,
) -> dict:
    """Every draft field checked and normalised (BroadcastError names the first bad one)."""
    segment_id, segment_tree = options.clean_audience(session, segment_id, segment_tree)
    cap_count, cap_days = options.clean_cap(cap_count, cap_days)
    return {
        "name": options.clean_name(name),
        "purpose": options.clean_purpose(purpose),
        "messages": options.clean_messages(messages),
        "segment_id": segment_id,
        "segment_tree": segment_tree,
        "track_links": bool(track_links),
        "control_percent": options.clean_control(control_percent),
        "cap_count": cap_count,
        "cap_days": cap_days,
        "goal": options.clean_goal(session, goal),
    }


def _summary(values: dict) -> dict:
    return {key: value for key, value in values.items() if key != "messages"}


def create_draft(
    session: Session,
    *,
    actor: Actor,
    name: str,
    purpose: str | None,
    messages,
    segment_id: int | None = None,
    segment_tree=None,
    track_links: bool = True,
    control_percent: int = 0,
    cap_count: int | None = None,
    cap_days: int | None = None,
    goal=None,
) -> Broadcast:
    """Save a new draft broadcast after checking every field."""
    values = _checked(
        session,
        name=name,
        purpose=purpose,
        messages=messages,
        segment_id=segment_id,
        segment_tree=segment_tree,
        track_links=track_links,
        control_percent=control_percent,
        cap_count=cap_count,
        cap_days=cap_days,
        goal=goal,
    )
    broadcast = Broadcast(**values, status=S.DRAFT, created_by=actor.staff_id)
    session.add(broadcast)
    session.flush()
    record(
        session,
        actor=actor,
        action="broadcast.create",
        target_type="broadcast",
        target_id=broadcast.id,
        after=_summary(values),
    )
    return broadcast


def update_draft(
    session: Session,
    *,
    actor: Actor,
    broadcast_id: int,
    name: str,
    purpose: str | None,
    messages,
    segment_id: int | None = None,
    segment_tree=None,
    track_links: bool = True,
    control_percent: int = 0,
    cap_count: int | None = None,
    cap_days: int | None = None,
    goal=None,
) -> Broadcast:
    """Change a draft (only drafts can be edited: once scheduled, cancel and copy instead)."""
    broadcast = get(session, broadcast_id)
    if broadcast.status != S.DRAFT:
        raise BroadcastError(N_("Only a draft can be edited."))
    values = _checked(
        session,
        name=name,
        purpose=purpose,
        messages=messages,
        segment_id=segment_id,
        segment_tree=segment_tree,
        track_links=track_links,
        control_percent=control_percent,
        cap_count=cap_count,
        cap_days=cap_days,
        goal=goal,
    )
    before = _summary({key: getattr(broadcast, key) for key in values})
    for key, value in values.items():
        setattr(broadcast, key, value)
    broadcast.updated_at = utcnow()
    session.add(broadcast)
    record(
        session,
        actor=actor,
        action="broadcast.update",
        target_type="broadcast",
        target_id=broadcast.id,
        before=before,
        after=_summary(values),
    )
    return broadcast


def copy_draft(session: Session, *, actor: Actor, broadcast_id: int, copy_name: str = "%(name)s のコピー") -> Broadcast:
    """A new draft with the same content and options as any broadcast (to send again or fix a cancelled one);
    `copy_name` names it from the source's name (the console passes it in the staff member's language)."""
    source = get(session, broadcast_id)
    fields = ("purpose", "messages", "segment_id", "track_links", "control_percent", "cap_count", "cap_days", "goal")
    values = {name: getattr(source, name) for name in fields}
    if source.segment_id is None:
        values["segment_tree"] = source.segment_tree
    room = options.NAME_MAX - len(copy_name % {"name": ""})
    name = copy_name % {"name": source.name[:room]}
    broadcast = Broadcast(name=name, **values, status=S.DRAFT, created_by=actor.staff_id)
    session.add(broadcast)
    session.flush()
    record(
        session,
        actor=actor,
        action="broadcast.copy",
        target_type="broadcast",
        target_id=broadcast.id,
        before={"copied_from": source.id},
        after=_summary({"name": name, **values}),
    )
    return broadcast
