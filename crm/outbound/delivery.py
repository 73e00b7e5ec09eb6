"""Delivering the outbox (the worker's side): lease due deliveries, sign them, record each attempt with
backoff, prune finished ones, and erase a friend's stored bodies. Nothing here does network I/O."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlmodel import Session, select, update

from crm.outbound.models import OutboxState, WebhookAttempt, WebhookDelivery, WebhookEndpoint

SIGNATURE_HEADER = "X-CRM-Signature"
RETRY_BASE = timedelta(seconds=30)
RETRY_MAX = timedelta(hours=1)
RETENTION = timedelta(days=7)  # finished deliveries (and their attempts) are kept this long


def sign(secret: str, body: bytes) -> str:
    """The X-CRM-Signature value: "sha256=" and the hex HMAC-SHA256 of the raw body keyed with the secret."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, signature: str) -> bool:
    """What a receiver does: recompute the signature and compare in constant time."""
    return hmac.compare_digest(sign(secret, body), signature or "")


def retry_delay(attempts: int) -> timedelta:
    """Wait before the next try after `attempts` failed ones: 30 s, 1 min, 2 min, … at most one hour."""
    return min(RETRY_BASE * (2 ** max(attempts - 1, 0)), RETRY_MAX)


def claim_due(session: Session, *, now: datetime, lease: timedelta, limit: int) -> list[tuple]:
    """Lease due deliveries of active endpoints: (delivery id, attempts, body, event id, type, endpoint id, url,
    secret)."""
    query = (
        select(
            WebhookDelivery.id,
            WebhookDelivery.attempts,
            WebhookDelivery.body,
            WebhookDelivery.event_id,
            WebhookDelivery.event_type,
            WebhookEndpoint.id,
            WebhookEndpoint.url,
            WebhookEndpoint.secret,
        )
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(
            WebhookDelivery.state == OutboxState.PENDING, WebhookDelivery.next_attempt_at <= now, WebhookEndpoint.active
        )
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=WebhookDelivery)
    rows = [tuple(row) for row in session.exec(query)]
    if rows:
        session.exec(
            update(WebhookDelivery)
            .where(WebhookDelivery.id.in_([r[0] for r in rows]))
            .values(next_attempt_at=now + lease)
        )
    return rows


def record_attempt(
    session: Session,
    *,
    delivery_id: int,
    endpoint_id: int,
    attempts: int,
    now: datetime,
    status_code: int | None,
    error: str | None,
    max_attempts: int,
) -> str:
    """Store one try and move the delivery on: delivered, retried later with backoff, or failed. Returns the
    new state."""
    ok = status_code is not None and 200 <= status_code < 300
    session.add(
        WebhookAttempt(
            endpoint_id=endpoint_id,
            delivery_id=delivery_id,
            attempted_at=now,
            status_code=status_code,
            error=(error or None) and error[:300],
            ok=ok,
        )
    )
    tried = attempts + 1
    if ok:
        values = {"state": OutboxState.DELIVERED, "finished_at": now, "next_attempt_at": None}
    elif tried >= max_attempts:
        values = {"state": OutboxState.FAILED, "finished_at": now, "next_attempt_at": None}
    else:
        values = {"next_attempt_at": now + retry_delay(tried)}
    session.exec(update(WebhookDelivery).where(WebhookDelivery.id == delivery_id).values(attempts=tried, **values))
    return values.get("state", OutboxState.PENDING)


def release(session: Session, *, delivery_ids: list[int], at: datetime) -> None:
    """Give leased deliveries back without counting a try (their endpoint was unreachable this tick)."""
    if delivery_ids:
        session.exec(update(WebhookDelivery).where(WebhookDelivery.id.in_(delivery_ids)).values(next_attempt_at=at))


def prune(session: Session, *, now: datetime, limit: int = 1000) -> int:
    """Delete up to `limit` deliveries finished more than RETENTION ago, with their attempts."""
    old = list(
        session.exec(select(WebhookDelivery.id).where(WebhookDelivery.finished_at < now - RETENTION).limit(limit))
    )
    if old:
        session.exec(delete(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(old)))
        session.exec(delete(WebhookDelivery).where(WebhookDelivery.id.in_(old)))
    return len(old)


def forget_friend(session: Session, *, line_user_id: str, chunk: int = 200) -> int:
    """Erasure: remove the friend from stored deliveries (found in SQL, a chunk at a time). A tag event keeps
    its other friends; a delivery left naming nobody, or naming this friend anywhere else, is deleted with its
    attempts. Returns the deliveries changed."""
    changed, after = 0, 0
    while True:
        rows = session.exec(
            select(WebhookDelivery.id, WebhookDelivery.body)
            .where(WebhookDelivery.id > after, WebhookDelivery.body.like(f'%"{line_user_id}"%'))
            .order_by(WebhookDelivery.id)
            .limit(chunk)
        ).all()
        gone = []
        for delivery_id, body in rows:
            kept = _without_friend(body, line_user_id)
            if kept is None:
                gone.append(delivery_id)
            else:
                session.exec(update(WebhookDelivery).where(WebhookDelivery.id == delivery_id).values(body=kept))
        if gone:
            session.exec(delete(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(gone)))
            session.exec(delete(WebhookDelivery).where(WebhookDelivery.id.in_(gone)))
        changed += len(rows)
        if len(rows) < chunk:
            return changed
        after = rows[-1][0]


def _without_friend(body: str, line_user_id: str) -> str | None:
    """The event body without the friend's entry in data.friends; None when the event is about nobody else."""
    try:
        document = json.loads(body)
        friends = document["data"]["friends"]
        document["data"]["friends"] = [ref for ref in friends if ref.get("line_user_id") != line_user_id]
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    if not document["data"]["friends"]:
        return None
    kept = json.dumps(document, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return None if f'"{line_user_id}"' in kept else kept
