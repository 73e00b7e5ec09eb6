"""Broadcast drafts: create, edit and copy, every field checked and every change audit-logged.

A draft has one content (`messages`) or 2-4 A/B variants, each with its messages and weight; with variants,
Broadcast.messages holds a copy of variant A's (so every page that shows "the" content shows A)."""

from __future__ import annotations

from sqlalchemy import delete
from sqlmodel import Session

from crm.broadcasts import options
from crm.broadcasts import variants as broadcast_variants
from crm.broadcasts.lifecycle import get
from crm.broadcasts.models import Broadcast, BroadcastVariant
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
    variants,
) -> tuple[dict, list[dict]]:
    """Every draft field checked and normalised, and the A/B variants (BroadcastError names the first bad one)."""
    segment_id, segment_tree = options.clean_audience(session, segment_id, segment_tree)
    cap_count, cap_days = options.clean_cap(cap_count, cap_days)
    name, purpose = options.clean_name(name), options.clean_purpose(purpose)
    checked_variants = options.clean_variants(variants)
    values = {
        "name": name,
        "purpose": purpose,
        "messages": checked_variants[0]["messages"] if checked_variants else options.clean_messages(messages),
        "segment_id": segment_id,
        "segment_tree": segment_tree,
        "track_links": bool(track_links),
        "control_percent": options.clean_control(control_percent),
        "cap_count": cap_count,
        "cap_days": cap_days,
        "goal": options.clean_goal(session, goal),
    }
    return values, checked_variants


def _summary(values: dict, variants: list[dict]) -> dict:
    """What the audit log keeps of a draft: every option, and the variants' labels and shares (no messages)."""
    summary = {key: value for key, value in values.items() if key != "messages"}
    if variants:
        summary["variants"] = {variant["label"]: variant["weight"] for variant in variants}
    return summary


def _store_variants(session: Session, broadcast_id: int, variants: list[dict]) -> None:
    """Replace the draft's variant rows (a draft has no recipients yet, so nothing refers to them)."""
    session.execute(delete(BroadcastVariant).where(BroadcastVariant.broadcast_id == broadcast_id))
    session.add_all(BroadcastVariant(broadcast_id=broadcast_id, **variant) for variant in variants)
    session.flush()


def _variant_values(session: Session, broadcast_id: int) -> list[dict]:
    return [
        {"label": row.label, "weight": row.weight, "messages": row.messages}
        for row in broadcast_variants.rows(session, broadcast_id)
    ]


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
    variants=None,
) -> Broadcast:
    """Save a new draft broadcast after checking every field (`variants`: 2-4 {"weight", "messages"} for an
    A/B test; `messages` is then not needed)."""
    values, checked_variants = _checked(
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
        variants=variants,
    )
    broadcast = Broadcast(**values, status=S.DRAFT, created_by=actor.staff_id)
    session.add(broadcast)
    session.flush()
    _store_variants(session, broadcast.id, checked_variants)
    record(
        session,
        actor=actor,
        action="broadcast.create",
        target_type="broadcast",
        target_id=broadcast.id,
        after=_summary(values, checked_variants),
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
    variants=None,
) -> Broadcast:
    """Change a draft (only drafts can be edited: once scheduled, cancel and copy instead)."""
    broadcast = get(session, broadcast_id)
    if broadcast.status != S.DRAFT:
        raise BroadcastError(N_("Only a draft can be edited."))
    values, checked_variants = _checked(
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
        variants=variants,
    )
    before = _summary({key: getattr(broadcast, key) for key in values}, _variant_values(session, broadcast.id))
    for key, value in values.items():
        setattr(broadcast, key, value)
    broadcast.updated_at = utcnow()
    session.add(broadcast)
    _store_variants(session, broadcast.id, checked_variants)
    record(
        session,
        actor=actor,
        action="broadcast.update",
        target_type="broadcast",
        target_id=broadcast.id,
        before=before,
        after=_summary(values, checked_variants),
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
    copied_variants = _variant_values(session, source.id)
    _store_variants(session, broadcast.id, copied_variants)
    record(
        session,
        actor=actor,
        action="broadcast.copy",
        target_type="broadcast",
        target_id=broadcast.id,
        before={"copied_from": source.id},
        after=_summary({"name": name, **values}, copied_variants),
    )
    return broadcast
