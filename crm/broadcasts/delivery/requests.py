"""Delivery requests: claiming due ones (with a lease) and recording what LINE answered.

A claim moves `next_attempt_at` one lease ahead and counts the attempt; on PostgreSQL the rows are read with
FOR UPDATE SKIP LOCKED, so several workers share a send without taking the same request. A worker killed after
its claim leaves the request pending: once the lease runs out another worker sends it again with the SAME retry
key, and LINE answers 409 (already accepted) if the first attempt got through — nobody receives it twice.

Requests carry a broadcast's recipients or, through a registered delivery source, another feature's sends
(scenario steps): leasing, sending, recording and pacing are the same for all.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select, update
from sqlmodel import Session

from crm.broadcasts.delivery import sources as delivery_sources
from crm.broadcasts.delivery.schedule import MONTHLY_LIMIT_REASON, clear_probe, pause
from crm.broadcasts.models import (
    Broadcast,
    BroadcastRecipient,
    BroadcastVariant,
    DeliveryRequest,
    RequestKind,
    RequestState,
)
from crm.friends.models import Friend
from crm.message_templates import content as broadcast_content
from crm.sql import array_agg

ERROR_MAX = 500
BROADCAST = "broadcast"  # Job.source of a broadcast's requests; other sources are registered by name


@dataclass
class Job:
    """One claimed request, ready to send."""

    request_id: int
    broadcast_id: int | None
    kind: str
    retry_key: str
    attempts: int
    to: list[str] = field(default_factory=list)
    messages: list[dict] = field(default_factory=list)
    source: str = BROADCAST
    refused: str | None = None  # why it cannot be sent at all (e.g. its template was archived): fails unsent
    variant_id: int | None = None  # the broadcast's A/B variant whose messages it carries


class Result:
    """What happened to a job (Outcome.result)."""

    SENT = "sent"  # accepted now or before (409 on our retry key)
    RETRY = "retry"  # timeout, connection error, 5xx: same retry key after a backoff
    THROTTLED = "throttled"  # 429 rate limit: again shortly, the sender slows down
    PAUSED = "paused"  # 429 monthly limit: the broadcast pauses
    FAILED = "failed"  # other 4xx: the recipients failed with LINE's reason


@dataclass(frozen=True)
class Outcome:
    """A job's result; `delay` is how long to wait before trying it again."""

    job: Job
    result: str
    line_request_id: str | None = None
    error: str | None = None
    delay: float = 0.0


def lease_due(session: Session, *, where: list, now: datetime, lease: timedelta, limit: int, source: str) -> list[Job]:
    """Lease up to `limit` due pending requests matching `where` (SKIP LOCKED: another worker's are skipped);
    their next attempt moves one lease ahead and their attempt is counted. Jobs without recipients yet."""
    query = (
        select(
            DeliveryRequest.id,
            DeliveryRequest.broadcast_id,
            DeliveryRequest.kind,
            DeliveryRequest.retry_key,
            DeliveryRequest.attempts,
            DeliveryRequest.broadcast_variant_id,
        )
        .where(DeliveryRequest.state == RequestState.PENDING, DeliveryRequest.next_attempt_at <= now, *where)
        .order_by(DeliveryRequest.next_attempt_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    jobs = [
        Job(
            row.id,
            row.broadcast_id,
            row.kind,
            row.retry_key,
            row.attempts + 1,
            source=source,
            variant_id=row.broadcast_variant_id,
        )
        for row in session.execute(query)
    ]
    if jobs:
        session.execute(
            update(DeliveryRequest)
            .where(DeliveryRequest.id.in_([job.request_id for job in jobs]))
            .values(next_attempt_at=now + lease, attempts=DeliveryRequest.attempts + 1)
            .execution_options(synchronize_session=False)
        )
    return jobs


def claim(
    session: Session, *, broadcast_id: int, now: datetime, lease: timedelta, limit: int, base_url: str
) -> list[Job]:
    """Claim up to `limit` due pending requests of a sending broadcast, with their recipients and the messages
    of their content (the broadcast's, or their A/B variant's)."""
    where = [DeliveryRequest.broadcast_id == broadcast_id]
    jobs = lease_due(session, where=where, now=now, lease=lease, limit=limit, source=BROADCAST)
    if not jobs:
        return []
    broadcast = session.get(Broadcast, broadcast_id)
    for variant_id in {job.variant_id for job in jobs}:
        messages = _messages(session, broadcast, variant_id)
        of_variant = [job for job in jobs if job.variant_id == variant_id]
        pushes = [job for job in of_variant if job.kind == RequestKind.PUSH]  # personal content: per friend
        if pushes:
            _render_pushes(session, pushes, broadcast, messages, base_url)
        if len(pushes) < len(of_variant):
            _attach_recipients(session, [job for job in of_variant if job.kind != RequestKind.PUSH], messages)
    return jobs


def _messages(session: Session, broadcast: Broadcast, variant_id: int | None) -> list[dict]:
    """The messages a request carries: its variant's, or the broadcast's own."""
    variant = session.get(BroadcastVariant, variant_id) if variant_id is not None else None
    return json.loads(variant.messages if variant is not None else broadcast.messages)


def _recipients(jobs: list[Job], *columns):
    """SELECT (request id, *columns) of the jobs' recipients."""
    return (
        select(BroadcastRecipient.request_id, *columns)
        .join(Friend, Friend.id == BroadcastRecipient.friend_id)
        .where(BroadcastRecipient.request_id.in_([job.request_id for job in jobs]))
    )


def _attach_recipients(session: Session, jobs: list[Job], messages: list[dict]) -> None:
    """Same messages for everyone: just the LINE user IDs of each request (up to 8,000 a claim), aggregated by
    the database into one list per request."""
    by_id = {job.request_id: job for job in jobs}
    query = _recipients(jobs, array_agg(session, Friend.line_user_id)).group_by(BroadcastRecipient.request_id)
    for request_id, line_user_ids in session.connection().execute(query):
        by_id[request_id].to = line_user_ids
    for job in jobs:
        job.messages = messages


def _render_pushes(
    session: Session, jobs: list[Job], broadcast: Broadcast, messages: list[dict], base_url: str
) -> None:
    """Per-friend messages, rendered now (tracked tokens are stable, so a retry renders the same text)."""
    by_id = {job.request_id: job for job in jobs}
    rows = session.execute(_recipients(jobs, Friend)).all()
    fields = broadcast_content.load_fields(
        session, [friend.id for _, friend in rows], broadcast_content.field_keys(messages)
    )
    for request_id, friend in rows:
        job = by_id[request_id]
        job.to = [friend.line_user_id]
        job.messages = broadcast_content.render(
            session,
            messages,
            friend=friend,
            base_url=base_url,
            broadcast_id=broadcast.id,
            track_links=broadcast.track_links,
            fields=fields.get(friend.id, {}),
        )


def backoff(attempts: int, *, base: float = 1.0, cap: float = 300.0) -> float:
    """Seconds before the next attempt: exponential with jitter, so retries of a burst spread out."""
    return min(cap, base * 2 ** (attempts - 1)) * random.uniform(0.5, 1.0)


def record(session: Session, outcomes: list[Outcome], *, now: datetime, max_attempts: int) -> None:
    """Store the outcomes of sent jobs (one transaction for a whole chunk)."""
    done = [o for o in outcomes if o.result == Result.SENT]
    failed = [o for o in outcomes if o.result == Result.FAILED]
    for outcome in outcomes:
        if outcome.result == Result.RETRY and outcome.job.attempts >= max_attempts:
            failed.append(
                Outcome(
                    outcome.job, Result.FAILED, error=f"gave up after {outcome.job.attempts} attempts: {outcome.error}"
                )
            )
    later = [
        o
        for o in outcomes
        if o.result in (Result.THROTTLED, Result.PAUSED) or (o.result == Result.RETRY and o.job.attempts < max_attempts)
    ]
    _finish(session, done, RequestState.SENT, now)
    _finish(session, failed, RequestState.FAILED, now)
    _postpone(session, later, now)
    limited = [o for o in outcomes if o.result == Result.PAUSED]
    for broadcast_id in {o.job.broadcast_id for o in done if o.job.source == BROADCAST}:
        clear_probe(session, broadcast_id=broadcast_id, now=now)
    for broadcast_id in {o.job.broadcast_id for o in limited if o.job.source == BROADCAST}:
        pause(session, broadcast_id=broadcast_id, reason=MONTHLY_LIMIT_REASON, now=now)
    for source, of_source in _by_source(limited):
        source.hold(session, of_source, now)


def _by_source(outcomes: list[Outcome]) -> list[tuple[delivery_sources.DeliverySource, list[Outcome]]]:
    """The outcomes of registered sources' jobs, grouped by source (a broadcast's are left out)."""
    grouped: dict[str, list[Outcome]] = {}
    for outcome in outcomes:
        if outcome.job.source != BROADCAST:
            grouped.setdefault(outcome.job.source, []).append(outcome)
    return [(delivery_sources.source_named(name), of_source) for name, of_source in grouped.items()]


_FINISH_REQUEST = update(DeliveryRequest.__table__).where(
    DeliveryRequest.__table__.c.id == bindparam("rid"), DeliveryRequest.__table__.c.state == RequestState.PENDING
)


def _finish(session: Session, outcomes: list[Outcome], state: str, now: datetime) -> None:
    """End the requests in `state`. A broadcast's recipients are not written: their outcome is their request's
    (crm.broadcasts.recipients); a source marks its own rows."""
    if not outcomes:
        return
    connection = session.connection()
    connection.execute(
        _FINISH_REQUEST.values(
            state=state, finished_at=now, line_request_id=bindparam("line_id"), error=bindparam("err")
        ),
        [{"rid": o.job.request_id, "line_id": o.line_request_id, "err": _cut(o.error)} for o in outcomes],
    )
    for source, of_source in _by_source(outcomes):
        source.finish(session, of_source, state, now)


def _postpone(session: Session, outcomes: list[Outcome], now: datetime) -> None:
    if not outcomes:
        return
    statement = _FINISH_REQUEST.values(next_attempt_at=bindparam("at"), error=bindparam("err"))
    session.connection().execute(
        statement,
        [{"rid": o.job.request_id, "at": now + timedelta(seconds=o.delay), "err": _cut(o.error)} for o in outcomes],
    )


def _cut(error: str | None) -> str | None:
    return error[:ERROR_MAX] if error else None
