"""Broadcast lifecycle: scheduling, approval, cancel and resume — every staff status change goes through here.

The transition table (crm.broadcasts.status) is the only place that says which status may follow
which. The console calls the staff actions here, each audit-logged; the delivery worker sets the statuses it
owns (sending, sent, paused, missed) with guarded updates checked against the same table.
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlmodel import Session

from crm.broadcasts.models import Broadcast
from crm.broadcasts.models import BroadcastStatus as S
from crm.broadcasts.options import BroadcastError
from crm.broadcasts.status import may_transition
from crm.errors import N_
from crm.permissions import can
from crm.segments import service as segments
from crm.segments.models import Segment
from crm.staff.audit import Actor, record
from crm.staff.models import Staff
from crm.timeutil import utcnow

CANCELLABLE = frozenset({S.DRAFT, S.AWAITING_APPROVAL, S.SCHEDULED})


def get(session: Session, broadcast_id: int) -> Broadcast:
    """The broadcast, or BroadcastError when it does not exist."""
    broadcast = session.get(Broadcast, broadcast_id)
    if broadcast is None:
        raise BroadcastError(N_("That broadcast does not exist."))
    return broadcast


def transition(
    session: Session, broadcast: Broadcast, new: str, *, actor: Actor, now: datetime | None = None, **fields
) -> Broadcast:
    """Move a broadcast to a new status (refused unless the table allows it), set fields, and audit it."""
    if not may_transition(broadcast.status, new):
        raise BroadcastError(
            N_("A broadcast that is %(current)s cannot become %(new)s."), current=broadcast.status, new=new
        )
    before = broadcast.status
    broadcast.status = new
    for name, value in fields.items():
        setattr(broadcast, name, value)
    broadcast.updated_at = now or utcnow()
    session.add(broadcast)
    record(
        session,
        actor=actor,
        action=f"broadcast.{new}",
        target_type="broadcast",
        target_id=broadcast.id,
        before={"status": before},
        after={"status": new, **{k: v for k, v in fields.items() if k != "messages"}},
    )
    return broadcast


def audience_tree(session: Session, broadcast: Broadcast) -> dict | None:
    """The condition tree the broadcast targets now: its saved segment's, its own, or None (every friend)."""
    if broadcast.segment_id is not None:
        segment = session.get(Segment, broadcast.segment_id)
        if segment is None:
            raise BroadcastError(N_("That segment no longer exists."), field="segment")
        return json.loads(segment.tree)
    return json.loads(broadcast.segment_tree) if broadcast.segment_tree else None


def estimate(session: Session, tree: dict | None, *, now: datetime) -> int:
    """How many following friends the tree matches now (None = every following friend)."""
    return segments.count(session, tree, now=now)


def schedule(
    session: Session, *, actor: Actor, broadcast_id: int, at: datetime | None, approval_threshold: int, now: datetime
) -> Broadcast:
    """Send now (at None) or at a future time; freeze the audience; ask approval above the threshold."""
    broadcast = get(session, broadcast_id)
    if broadcast.status != S.DRAFT:
        raise BroadcastError(N_("Only a draft can be scheduled."))
    if at is not None and (at.tzinfo is None or at <= now):
        raise BroadcastError(N_("Choose a time in the future."), field="scheduled_at")
    tree = audience_tree(session, broadcast)
    count = estimate(session, tree, now=now)
    if count == 0:
        raise BroadcastError(N_("No friend would receive this broadcast."), field="segment")
    new = S.AWAITING_APPROVAL if count > approval_threshold else S.SCHEDULED
    frozen = None if tree is None else json.dumps(tree, ensure_ascii=False, sort_keys=True)
    return transition(
        session,
        broadcast,
        new,
        actor=actor,
        now=now,
        scheduled_at=at,
        segment_tree=frozen,
        estimated_recipients=count,
        approved_recipients=None if new == S.AWAITING_APPROVAL else count,
        recounted_recipients=None,
        approved_by=None,
    )


def _may_approve(session: Session, actor: Actor, broadcast: Broadcast) -> None:
    staff = session.get(Staff, actor.staff_id) if actor.staff_id is not None else None
    if staff is None or not staff.active or not can(staff.role, "broadcasts.send"):
        raise BroadcastError(N_("Only a marketer or an admin can approve a broadcast."))
    if staff.id == broadcast.created_by:
        raise BroadcastError(N_("A second person must approve: you created this broadcast."))


def approve(session: Session, *, actor: Actor, broadcast_id: int, now: datetime) -> Broadcast:
    """A second marketer or admin (not the creator) approves a broadcast above the threshold."""
    broadcast = get(session, broadcast_id)
    if broadcast.status != S.AWAITING_APPROVAL:
        raise BroadcastError(N_("This broadcast is not waiting for approval."))
    _may_approve(session, actor, broadcast)
    if broadcast.scheduled_at is not None and broadcast.scheduled_at <= now:
        raise BroadcastError(N_("Its scheduled time has passed: cancel it and schedule a copy again."))
    return transition(
        session,
        broadcast,
        S.SCHEDULED,
        actor=actor,
        now=now,
        approved_by=actor.staff_id,
        approved_recipients=broadcast.estimated_recipients,
    )


def cancel(session: Session, *, actor: Actor, broadcast_id: int, now: datetime | None = None) -> Broadcast:
    """Cancel a broadcast before sending starts (draft, awaiting approval or scheduled)."""
    broadcast = get(session, broadcast_id)
    if broadcast.status not in CANCELLABLE:
        raise BroadcastError(N_("Sending has started: this broadcast can no longer be cancelled."))
    return transition(session, broadcast, S.CANCELLED, actor=actor, now=now)


def resume(session: Session, *, actor: Actor, broadcast_id: int, now: datetime | None = None) -> Broadcast:
    """Resume a paused broadcast (after LINE's monthly limit was raised): the worker carries on sending."""
    broadcast = get(session, broadcast_id)
    if broadcast.status != S.PAUSED:
        raise BroadcastError(N_("Only a paused broadcast can be resumed."))
    return transition(session, broadcast, S.SENDING, actor=actor, now=now, pause_reason=None)
