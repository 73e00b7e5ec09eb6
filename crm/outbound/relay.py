"""The LINE webhook relay queue: raw bodies (with LINE's signature) waiting to be forwarded to a second URL."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime, timedelta

from sqlalchemy import LargeBinary, delete, func, literal
from sqlmodel import Session, select, update

from crm.outbound.delivery import retry_delay
from crm.outbound.models import OutboxState, RelayItem


def enqueue(session: Session, *, body: bytes, signature: str, now: datetime) -> None:
    """Store a verified webhook body exactly as received, due at once."""
    session.add(RelayItem(body=body, signature=signature, received_at=now, next_attempt_at=now))


def claim_due(session: Session, *, now: datetime, lease: timedelta, limit: int) -> list[tuple[int, int, bytes, str]]:
    """Lease the oldest pending items up to the first one not yet due (bodies are forwarded in LINE's order, so
    one waiting for its retry holds back the later ones): (id, attempts, body, signature)."""
    query = (
        select(RelayItem.id, RelayItem.attempts, RelayItem.body, RelayItem.signature, RelayItem.next_attempt_at)
        .where(RelayItem.state == OutboxState.PENDING)
        .order_by(RelayItem.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    rows = []
    for item_id, attempts, body, signature, due in session.exec(query):
        if due is not None and due > now:
            break
        rows.append((item_id, attempts, body, signature))
    if rows:
        session.exec(
            update(RelayItem).where(RelayItem.id.in_([r[0] for r in rows])).values(next_attempt_at=now + lease)
        )
    return rows


def release(session: Session, *, item_ids: list[int], at: datetime) -> None:
    """Give leased items back without counting a try."""
    if item_ids:
        session.exec(update(RelayItem).where(RelayItem.id.in_(item_ids)).values(next_attempt_at=at))


def record_attempt(
    session: Session,
    *,
    item_id: int,
    attempts: int,
    now: datetime,
    status_code: int | None,
    error: str | None,
    max_attempts: int,
) -> None:
    """A forwarded body is deleted (it holds personal messages); a failed one is retried with backoff, and
    kept as failed after the last attempt."""
    if status_code is not None and 200 <= status_code < 300:
        session.exec(delete(RelayItem).where(RelayItem.id == item_id))
        return
    tried = attempts + 1
    values = {"attempts": tried, "last_status_code": status_code, "last_error": (error or "")[:300] or None}
    if tried >= max_attempts:
        values.update(state=OutboxState.FAILED, next_attempt_at=None, failed_at=now)
    else:
        values["next_attempt_at"] = now + retry_delay(tried)
    session.exec(update(RelayItem).where(RelayItem.id == item_id).values(**values))


def line_signature(channel_secret: str, body: bytes) -> str:
    """LINE's X-Line-Signature of a body: base64 of its HMAC-SHA256 keyed with the channel secret."""
    return base64.b64encode(hmac.new(channel_secret.encode(), body, hashlib.sha256).digest()).decode()


def prune_failed(session: Session, *, now: datetime, keep: timedelta, limit: int = 1000) -> int:
    """Delete up to `limit` items that failed for good more than `keep` ago; return how many."""
    old = list(session.exec(select(RelayItem.id).where(RelayItem.failed_at < now - keep).limit(limit)))
    if old:
        session.exec(delete(RelayItem).where(RelayItem.id.in_(old)))
    return len(old)


def forget_user(session: Session, *, line_user_id: str, chunk: int = 200) -> int:
    """Erasure: remove the events naming this LINE user from queued bodies (found in SQL, a chunk at a time).
    A body left with other events keeps them and loses LINE's signature (the relay signs it again with the
    channel secret); a body left empty is deleted. Returns the items changed."""
    needle, changed, after = line_user_id.encode(), 0, 0
    while True:
        rows = session.exec(
            select(RelayItem.id, RelayItem.body)
            .where(RelayItem.id > after, _body_holds(session, needle))
            .order_by(RelayItem.id)
            .limit(chunk)
        ).all()
        for item_id, body in rows:
            kept = _without_user(bytes(body), line_user_id)
            if kept is None:
                session.exec(delete(RelayItem).where(RelayItem.id == item_id))
            else:
                session.exec(update(RelayItem).where(RelayItem.id == item_id).values(body=kept, signature=""))
        changed += len(rows)
        if len(rows) < chunk:
            return changed
        after = rows[-1][0]


def _body_holds(session: Session, needle: bytes):
    """SQL: the body contains these bytes (LIKE does not match SQLite blobs)."""
    needle_param = literal(needle, LargeBinary)
    if session.get_bind().dialect.name == "postgresql":
        return func.position(needle_param.op("IN")(RelayItem.body)) > 0
    return func.instr(RelayItem.body, needle_param) > 0


def _without_user(body: bytes, line_user_id: str) -> bytes | None:
    """The webhook body without the events that mention the user; None when nothing else is left."""
    try:
        document = json.loads(body)
        events = [event for event in document["events"] if line_user_id not in json.dumps(event)]
    except (ValueError, KeyError, TypeError):
        return None
    document["events"] = events
    kept = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
    return kept if events and line_user_id.encode() not in kept else None


def status(session: Session) -> dict:
    """Pending and failed counts and the latest error, for the console."""
    counts = dict(session.exec(select(RelayItem.state, func.count()).group_by(RelayItem.state)).all())
    last = session.exec(
        select(RelayItem).where(RelayItem.last_error.is_not(None)).order_by(RelayItem.id.desc()).limit(1)
    ).first()
    return {
        "pending": counts.get(OutboxState.PENDING, 0),
        "failed": counts.get(OutboxState.FAILED, 0),
        "last_error": last.last_error if last else None,
        "last_status_code": last.last_status_code if last else None,
    }
