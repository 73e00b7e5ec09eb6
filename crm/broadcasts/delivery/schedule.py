"""The delivery engine's broadcast states: what is due, missed, paused, resumed and finished.

The database, not memory, says what is due, so a restarted worker picks up where the last one stopped.
Every change is a guarded UPDATE (`WHERE status = <expected>`): two workers never both start or finish a send.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import exists, or_, select, update
from sqlmodel import Session

from crm.broadcasts.models import Broadcast, BroadcastStatus, DeliveryRequest, RequestState
from crm.broadcasts.status import may_transition
from crm.segments import service as segments
from crm.staff.audit import Actor, record

MONTHLY_LIMIT_REASON = "monthly_limit"

FinishedListener = Callable[..., None]
_finished_listeners: list[FinishedListener] = []


@dataclass(frozen=True)
class DeliverySettings:
    """The engine's knobs (config keys BROADCAST_MISSED_GRACE and DELIVERY_*)."""

    missed_grace: timedelta = timedelta(hours=1)
    lease: timedelta = timedelta(seconds=60)
    pause_probe: timedelta = timedelta(minutes=10)
    max_attempts: int = 12
    snapshot_batch: int = 5000
    claim_batch: int = 200
    concurrency: int = 8
    base_url: str = ""
    approval_threshold: int | None = 10000  # BROADCAST_APPROVAL_THRESHOLD; None: no recount at the start

    @classmethod
    def from_config(cls, config) -> DeliverySettings:
        """Read the settings from a Flask config mapping."""
        return cls(
            missed_grace=timedelta(seconds=config.get("BROADCAST_MISSED_GRACE", 3600)),
            lease=timedelta(seconds=config.get("DELIVERY_LEASE_SECONDS", 60)),
            pause_probe=timedelta(seconds=config.get("DELIVERY_PAUSE_PROBE_SECONDS", 600)),
            max_attempts=config.get("DELIVERY_MAX_ATTEMPTS", 12),
            concurrency=config.get("DELIVERY_CONCURRENCY", 8),
            base_url=config.get("PUBLIC_BASE_URL", ""),
            approval_threshold=config.get("BROADCAST_APPROVAL_THRESHOLD", 10000),
        )


def on_broadcast_finished(callback: FinishedListener) -> FinishedListener:
    """Register `callback(session, broadcast_id=, status=)`, called in the transaction that ends a send."""
    if callback not in _finished_listeners:
        _finished_listeners.append(callback)
    return callback


def _set_status(session: Session, broadcast_id: int, expected: str | tuple, **values) -> bool:
    """Move one broadcast from an expected status; False when another worker (or a marketer) moved it first."""
    expected = expected if isinstance(expected, tuple) else (expected,)
    if "status" in values and not all(may_transition(old, values["status"]) for old in expected):
        raise ValueError(f"broadcast status {expected} -> {values['status']} is not in the transition table")
    result = session.execute(
        update(Broadcast)
        .where(Broadcast.id == broadcast_id, Broadcast.status.in_(expected))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def start_due(session: Session, *, now: datetime, grace: timedelta, approval_threshold: int | None = None) -> list[int]:
    """Start the scheduled broadcasts that are due; mark those late by more than `grace` missed, and send back
    to awaiting approval those whose audience now exceeds both the threshold and the count approved."""
    due = (
        select(Broadcast.id, Broadcast.scheduled_at)
        .where(
            Broadcast.status == BroadcastStatus.SCHEDULED,
            or_(Broadcast.scheduled_at.is_(None), Broadcast.scheduled_at <= now),
        )
        .order_by(Broadcast.id)
    )
    started = []
    for broadcast_id, scheduled_at in session.execute(due).all():
        if scheduled_at is not None and now - scheduled_at > grace:
            if _set_status(
                session,
                broadcast_id,
                BroadcastStatus.SCHEDULED,
                status=BroadcastStatus.MISSED,
                finished_at=now,
                updated_at=now,
            ):
                _notify(session, broadcast_id, BroadcastStatus.MISSED)
        elif approval_threshold is not None and _send_back_if_grown(session, broadcast_id, now, approval_threshold):
            continue
        elif _set_status(
            session,
            broadcast_id,
            BroadcastStatus.SCHEDULED,
            status=BroadcastStatus.SENDING,
            started_at=now,
            updated_at=now,
        ):
            started.append(broadcast_id)
    return started


def _send_back_if_grown(session: Session, broadcast_id: int, now: datetime, threshold: int) -> bool:
    """Count the audience as the send starts, in the transaction that claims it; above the threshold and the
    count approved, the broadcast goes back to awaiting approval (audited), to be sent as soon as approved."""
    broadcast = session.get(Broadcast, broadcast_id, populate_existing=True)
    count = segments.count(session, broadcast.segment_tree, now=now)
    approved = broadcast.approved_recipients
    if count <= threshold or (approved is not None and count <= approved):
        return False
    if not _set_status(
        session,
        broadcast_id,
        BroadcastStatus.SCHEDULED,
        status=BroadcastStatus.AWAITING_APPROVAL,
        scheduled_at=None,
        estimated_recipients=count,
        recounted_recipients=count,
        approved_by=None,
        updated_at=now,
    ):
        return False
    record(
        session,
        actor=Actor.system("delivery"),
        action=f"broadcast.{BroadcastStatus.AWAITING_APPROVAL}",
        target_type="broadcast",
        target_id=broadcast_id,
        before={"status": BroadcastStatus.SCHEDULED, "scheduled_at": broadcast.scheduled_at},
        after={
            "status": BroadcastStatus.AWAITING_APPROVAL,
            "reason": "audience_grew",
            "approved_recipients": approved,
            "recipients": count,
            "threshold": threshold,
        },
    )
    return True


def snapshotting_ids(session: Session) -> list[int]:
    """Broadcasts being sent whose recipients snapshot is not complete yet."""
    query = (
        select(Broadcast.id)
        .where(Broadcast.status == BroadcastStatus.SENDING, Broadcast.snapshot_done.is_(False))
        .order_by(Broadcast.id)
    )
    return list(session.execute(query).scalars())


def sendable(session: Session) -> list[tuple[int, bool, str]]:
    """(id, probing, request kind) of each sending broadcast; probing: resumed after a pause, not yet through."""
    kind = (
        select(DeliveryRequest.kind).where(DeliveryRequest.broadcast_id == Broadcast.id).limit(1).scalar_subquery()
    )  # the snapshot stored it; null: no request yet, so nothing to claim either
    query = (
        select(Broadcast.id, Broadcast.pause_reason, kind.label("kind"))
        .where(Broadcast.status == BroadcastStatus.SENDING)
        .order_by(Broadcast.id)
    )
    return [(row.id, row.pause_reason is not None, row.kind) for row in session.execute(query)]


def pause(session: Session, *, broadcast_id: int, reason: str, now: datetime) -> bool:
    """Pause a send (LINE's monthly limit); the worker probes again after a while, or a marketer resumes."""
    return _set_status(
        session,
        broadcast_id,
        BroadcastStatus.SENDING,
        status=BroadcastStatus.PAUSED,
        pause_reason=reason,
        updated_at=now,
    )


def probe_paused(session: Session, *, now: datetime, every: timedelta) -> list[int]:
    """Resume sends paused for longer than `every` in probe mode (pause_reason kept: one request at a time)."""
    stale = select(Broadcast.id).where(Broadcast.status == BroadcastStatus.PAUSED, Broadcast.updated_at <= now - every)
    return [
        broadcast_id
        for broadcast_id in session.execute(stale).scalars().all()
        if _set_status(session, broadcast_id, BroadcastStatus.PAUSED, status=BroadcastStatus.SENDING, updated_at=now)
    ]


def clear_probe(session: Session, *, broadcast_id: int, now: datetime) -> None:
    """A request went through: the send is no longer limited, back to full speed."""
    session.execute(
        update(Broadcast)
        .where(Broadcast.id == broadcast_id, Broadcast.pause_reason.is_not(None))
        .values(pause_reason=None, updated_at=now)
        .execution_options(synchronize_session=False)
    )


def finish_done(session: Session, *, now: datetime) -> list[int]:
    """Mark SENT the sends whose snapshot is complete and that have no pending request; tell the listeners."""
    pending = exists().where(
        DeliveryRequest.broadcast_id == Broadcast.id, DeliveryRequest.state == RequestState.PENDING
    )
    done = select(Broadcast.id).where(Broadcast.status == BroadcastStatus.SENDING, Broadcast.snapshot_done, ~pending)
    finished = []
    for broadcast_id in session.execute(done).scalars().all():
        if _set_status(
            session, broadcast_id, BroadcastStatus.SENDING, status=BroadcastStatus.SENT, finished_at=now, updated_at=now
        ):
            _notify(session, broadcast_id, BroadcastStatus.SENT)
            finished.append(broadcast_id)
    return finished


def _notify(session: Session, broadcast_id: int, status: str) -> None:
    for callback in tuple(_finished_listeners):
        callback(session, broadcast_id=broadcast_id, status=status)
