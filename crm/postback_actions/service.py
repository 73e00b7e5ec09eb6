"""Stored action lists behind buttons: saved by the rich-menu and template editors, found by a tap, counted.

Lists are kept when a button changes (a published menu or a sent template still carries the old reference
until it is published or sent again); a deleted draft menu deletes its lists."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import case, delete, func
from sqlmodel import Session, select

from crm.errors import N_
from crm.i18n import translate
from crm.postback_actions.models import PostbackActionList, PostbackTap
from crm.sql import insert_for
from crm.timeutil import TOKYO, utcnow

OwnerDescriber = Callable[[Session, int | None, str], str]
_owners: dict[str, OwnerDescriber] = {}


def register_owner(owner_type: str, describe: OwnerDescriber) -> None:
    """Say a button of this owner in words: describe(session, owner_id, place)."""
    _owners[owner_type] = describe


def describe_list(session: Session, list_id: int) -> str:
    """Where the list's button is, in words (the history's source)."""
    row = session.get(PostbackActionList, list_id)
    if row is None:
        return translate(N_("A button that no longer exists"))
    describe = _owners.get(row.owner_type)
    return describe(session, row.owner_id, row.place) if describe else f"{row.owner_type} {row.place}"


def actions_of(row: PostbackActionList | None) -> list[dict]:
    """The list's actions (each `{"type": kind, ...}`)."""
    value = json.loads(row.actions) if row is not None else []
    return value if isinstance(value, list) else []


def get_list(session: Session, list_id: int | None) -> PostbackActionList | None:
    """The list, or None."""
    return session.get(PostbackActionList, list_id) if list_id else None


def save_list(
    session: Session,
    *,
    owner_type: str,
    owner_id: int | None,
    place: str,
    actions: list[dict],
    reuse_id: int | None = None,
) -> tuple[PostbackActionList, bool]:
    """Store a button's validated actions: in the list `reuse_id` when it is this owner's (so its reference and
    tap counts stay), else in a new list. Returns the list and whether its actions are new or changed."""
    stored = json.dumps(actions, ensure_ascii=False, sort_keys=True)
    row = get_list(session, reuse_id)
    if row is None or row.owner_type != owner_type or row.owner_id not in (None, owner_id):
        row, changed = PostbackActionList(owner_type=owner_type, owner_id=owner_id, place=place, actions=stored), True
    else:
        changed = row.actions != stored
        if changed or (row.place, row.owner_id) != (place, owner_id):
            row.actions, row.place, row.owner_id, row.updated_at = stored, place, owner_id, utcnow()
    session.add(row)
    session.flush()
    return row, changed


def claim_lists(session: Session, *, list_ids: list[int], owner_type: str, owner_id: int) -> None:
    """Give lists saved before their owner had an id (a new template) to that owner."""
    for list_id in list_ids:
        row = get_list(session, list_id)
        if row is not None and row.owner_type == owner_type and row.owner_id is None:
            row.owner_id = owner_id
            session.add(row)


def delete_owned(session: Session, *, owner_type: str, owner_id: int) -> int:
    """Delete an owner's lists with their taps; return how many lists."""
    ids = list(
        session.exec(
            select(PostbackActionList.id).where(
                PostbackActionList.owner_type == owner_type, PostbackActionList.owner_id == owner_id
            )
        )
    )
    if ids:
        session.exec(delete(PostbackTap).where(PostbackTap.action_list_id.in_(ids)))
        session.exec(delete(PostbackActionList).where(PostbackActionList.id.in_(ids)))
    return len(ids)


def record_tap(session: Session, *, list_id: int, friend_id: int, event_key: str, at: datetime) -> bool:
    """Count one tap, once per webhook event; False when this event was counted before."""
    table = PostbackTap.__table__
    statement = (
        insert_for(session, table)
        .values(action_list_id=list_id, friend_id=friend_id, event_key=event_key[:120], tapped_at=at)
        .on_conflict_do_nothing(index_elements=["event_key"])
        .returning(table.c.id)
    )
    return session.connection().execute(statement).first() is not None


@dataclass(frozen=True)
class TapCount:
    """Taps on one button: today (Asia/Tokyo), the last 7 days and in all."""

    today: int = 0
    week: int = 0
    total: int = 0


def tap_counts(session: Session, list_ids, *, now: datetime | None = None) -> dict[int, TapCount]:
    """Tap counts per list id (lists never tapped are left out)."""
    ids = sorted({list_id for list_id in list_ids if list_id})
    if not ids:
        return {}
    now = now or utcnow()
    today = datetime.combine(now.astimezone(TOKYO).date(), time(0), tzinfo=TOKYO).astimezone(UTC)
    week = now - timedelta(days=7)
    tapped = PostbackTap.tapped_at
    query = (
        select(
            PostbackTap.action_list_id,
            func.sum(case((tapped >= today, 1), else_=0)),
            func.sum(case((tapped >= week, 1), else_=0)),
            func.count(),
        )
        .where(PostbackTap.action_list_id.in_(ids))
        .group_by(PostbackTap.action_list_id)
    )
    return {list_id: TapCount(int(t), int(w), int(n)) for list_id, t, w, n in session.exec(query)}
