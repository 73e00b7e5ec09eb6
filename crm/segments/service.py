"""Segments (絞り込み): which friends a condition tree selects, as one SQL query, and saved segments.

The tree format is in docs/segments.md; checking lives in crm.segments.tree, compilation in
crm.segments.compiler. Blocked
friends are never recipients: `recipient_ids` and `count` (by default) add `status == following`.
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.sql import Select
from sqlmodel import Session

from crm.errors import N_
from crm.friends.models import Friend, FriendStatus
from crm.segments.compiler import Where, where
from crm.segments.models import Segment
from crm.segments.tree import SegmentError, parse, validate
from crm.staff.audit import Actor, record
from crm.timeutil import utcnow

MAX_NAME = 100
MAX_DESCRIPTION = 500


def _where(session: Session, tree: dict | str | None, now: datetime) -> Where:
    """Conditions for a tree; a stored tree (JSON text or dict) is re-parsed, not re-validated, so a tag
    deleted since simply matches nobody instead of failing a scheduled send."""
    return Where([]) if tree is None else where(session, parse(tree), now=now)


def friend_ids(session: Session, tree: dict | str | None, *, now: datetime) -> Select:
    """SELECT friend.id of every friend matching a validated tree (blocked ones included)."""
    return _where(session, tree, now).select(Friend.id)


def recipient_ids(session: Session, tree: dict | str | None, *, now: datetime) -> Select:
    """SELECT friend.id of the following friends matching the tree (None: every following friend)."""
    return _where(session, tree, now).select(Friend.id, first=(Friend.status == FriendStatus.FOLLOWING,))


def count(session: Session, tree: dict | str | None, *, now: datetime, recipients_only: bool = True) -> int:
    """How many friends (by default: following friends) the tree selects."""
    ids = recipient_ids(session, tree, now=now) if recipients_only else friend_ids(session, tree, now=now)
    return session.exec(select(func.count()).select_from(ids.subquery())).scalar()


def counts(session: Session, tree: dict | str | None, *, now: datetime) -> tuple[int, int]:
    """(following friends, all friends) the tree selects, in one pass (the builder shows both)."""
    following = func.coalesce(func.sum(case((Friend.status == FriendStatus.FOLLOWING, 1), else_=0)), 0)
    recipients, everyone = session.exec(_where(session, tree, now).select(following, func.count())).one()
    return int(recipients), int(everyone)


def list_segments(session: Session) -> list[Segment]:
    """Saved segments by name."""
    return list(session.exec(select(Segment).order_by(Segment.name)).scalars())


def get_segment(session: Session, segment_id: int) -> Segment:
    """The saved segment with this id, or a SegmentError."""
    segment = session.get(Segment, segment_id)
    if segment is None:
        raise SegmentError("", N_("This segment no longer exists."))
    return segment


def _check_name(session: Session, name: str, description: str | None, segment_id: int | None):
    name, description = (name or "").strip(), (description or "").strip() or None
    if not name or len(name) > MAX_NAME:
        raise SegmentError("name", N_("Name: enter 1 to %(max)d characters."), max=MAX_NAME)
    if description and len(description) > MAX_DESCRIPTION:
        raise SegmentError("description", N_("Description: use at most %(max)d characters."), max=MAX_DESCRIPTION)
    clash = session.exec(select(Segment.id).where(Segment.name == name)).scalar()
    if clash is not None and clash != segment_id:
        raise SegmentError("name", N_("Name: another segment is already called %(name)s."), name=name)
    return name, description


def _snapshot(segment: Segment) -> dict:
    return {"name": segment.name, "description": segment.description, "tree": json.loads(segment.tree)}


def create_segment(
    session: Session, *, actor: Actor, name: str, tree: dict | str, description: str | None = None
) -> Segment:
    """Save a new segment (validated, audited)."""
    name, description = _check_name(session, name, description, None)
    normalised = validate(session, tree)
    segment = Segment(
        name=name, description=description, tree=json.dumps(normalised, ensure_ascii=False), created_by=actor.staff_id
    )
    session.add(segment)
    session.flush()
    record(
        session,
        actor=actor,
        action="segment.created",
        target_type="segment",
        target_id=segment.id,
        after=_snapshot(segment),
    )
    return segment


def update_segment(
    session: Session, *, actor: Actor, segment_id: int, name: str, tree: dict | str, description: str | None = None
) -> Segment:
    """Change a saved segment's name, description and tree (validated, audited with before/after)."""
    segment = get_segment(session, segment_id)
    name, description = _check_name(session, name, description, segment_id)
    normalised = json.dumps(validate(session, tree), ensure_ascii=False)
    before = _snapshot(segment)
    segment.name, segment.description, segment.tree, segment.updated_at = name, description, normalised, utcnow()
    record(
        session,
        actor=actor,
        action="segment.changed",
        target_type="segment",
        target_id=segment_id,
        before=before,
        after=_snapshot(segment),
    )
    return segment


def delete_segment(session: Session, *, actor: Actor, segment_id: int) -> None:
    """Delete a saved segment (broadcasts keep their frozen copy of the tree)."""
    segment = get_segment(session, segment_id)
    record(
        session,
        actor=actor,
        action="segment.deleted",
        target_type="segment",
        target_id=segment_id,
        before=_snapshot(segment),
    )
    session.delete(segment)
