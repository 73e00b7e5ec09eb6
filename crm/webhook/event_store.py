"""Webhook events: stored once by webhookEventId, then handled once (the row's `handled_at`)."""

from __future__ import annotations

import functools
import hashlib
import json
from datetime import datetime

from sqlalchemy import bindparam, func, or_, update
from sqlalchemy.engine import Connection
from sqlmodel import Session, select

from crm.friends.models import Message
from crm.sql import dialect_insert
from crm.timeutil import utcnow
from crm.webhook.models import FailedWebhookEvent, WebhookEvent

ERASED_PAYLOAD = '{"erased": true}'
# What stays of a message LINE asked us to forget: enough to tell which message it was, nothing it said.
UNSENT_MESSAGE_KEYS = ("id", "type")


def event_key(event: dict, raw: str | None = None) -> str:
    """Return the event's webhookEventId, or a content hash for an event that lacks one."""
    key = event.get("webhookEventId")
    if isinstance(key, str) and 0 < len(key) <= 64:
        return key
    digest = hashlib.sha256((raw or json.dumps(event, sort_keys=True)).encode()).hexdigest()
    return "sha256:" + digest[:56]


@functools.cache
def _record_statement(dialect: str):
    """The event insert, built once per dialect."""
    table = WebhookEvent.__table__
    columns = (
        "webhook_event_id",
        "event_type",
        "source_type",
        "source_id",
        "line_user_id",
        "is_redelivery",
        "occurred_at",
        "received_at",
        "payload",
        "handled_at",
    )
    values = {name: bindparam(name, type_=table.c[name].type) for name in columns}
    return (
        dialect_insert(dialect, table)
        .values(values)
        .on_conflict_do_nothing(index_elements=["webhook_event_id"])
        .returning(table.c.id)
    )


_TABLE = WebhookEvent.__table__
# The first statement of a handling transaction: it takes the row (PostgreSQL locks it until the commit, SQLite
# takes the write lock), so of two consumers reaching one event only the first acts; the second waits, then
# finds it handled.
_CLAIM = (
    update(_TABLE)
    .where(_TABLE.c.id == bindparam("row_id"), _TABLE.c.handled_at.is_(None))
    .values(handled_at=bindparam("now", type_=_TABLE.c.handled_at.type))
    .returning(_TABLE.c.payload)
)

_LINK_FRIEND = (
    update(WebhookEvent.__table__)
    .where(WebhookEvent.__table__.c.id == bindparam("row_id"))
    .values(friend_id=bindparam("friend_id"))
)


def record_event(
    session: Session,
    *,
    key: str,
    event: dict,
    occurred_at: datetime,
    user_id: str | None,
    handled: bool = True,
) -> int | None:
    """Insert the event (`handled=False`: waiting for the consumer); return its row id, or None if it was
    already stored."""
    return insert_event(
        session.connection(), key=key, event=event, occurred_at=occurred_at, user_id=user_id, handled=handled
    )


def insert_event(
    connection: Connection,
    *,
    key: str,
    event: dict,
    occurred_at: datetime,
    user_id: str | None,
    handled: bool = True,
) -> int | None:
    """record_event on a connection in a transaction (a group commit's)."""
    source = event.get("source") if isinstance(event.get("source"), dict) else {}
    source_id = source.get("userId") or source.get("groupId") or source.get("roomId")
    delivery = event.get("deliveryContext") if isinstance(event.get("deliveryContext"), dict) else {}
    received_at = utcnow()
    params = {
        "webhook_event_id": key,
        "event_type": str(event.get("type") or "unknown")[:40],
        "source_type": str(source.get("type"))[:10] if source.get("type") else None,
        "source_id": str(source_id)[:64] if source_id else None,
        "line_user_id": user_id,
        "is_redelivery": bool(delivery.get("isRedelivery")),
        "occurred_at": occurred_at,
        "received_at": received_at,
        "payload": json.dumps(event, ensure_ascii=False),
        "handled_at": received_at if handled else None,
    }
    return connection.execute(_record_statement(connection.dialect.name), params).scalar()


def link_friend(session: Session, *, event_row_id: int, friend_id: int) -> None:
    """Attach the friend an event belongs to."""
    session.connection().execute(_LINK_FRIEND, {"row_id": event_row_id, "friend_id": friend_id})


def claim(session: Session, *, row_id: int, now: datetime) -> dict | None:
    """Mark a waiting event handled, in the transaction that acts on it; return its payload, or None when another
    consumer handled it first."""
    payload = session.connection().execute(_CLAIM, {"row_id": row_id, "now": now}).scalar()
    return None if payload is None else json.loads(payload)


def waiting_ids(session: Session, *, limit: int) -> list[int]:
    """The oldest events stored but not yet handled, in the order they were stored."""
    query = select(WebhookEvent.id).where(WebhookEvent.handled_at.is_(None)).order_by(WebhookEvent.id).limit(limit)
    return list(session.exec(query))


def oldest_waiting_since(session: Session) -> datetime | None:
    """When the oldest event still waiting for its handling was received (None: nothing waits)."""
    query = select(func.min(WebhookEvent.received_at)).where(WebhookEvent.handled_at.is_(None))
    return session.exec(query).one()


def handled_row_id(session: Session, *, key: str) -> int | None:
    """The row of a stored event already marked handled (None: not stored, or still waiting)."""
    query = select(WebhookEvent.id).where(WebhookEvent.webhook_event_id == key, WebhookEvent.handled_at.is_not(None))
    return session.exec(query).first()


def webhook_events(session: Session, *, friend_id: int, line_user_id: str) -> int:
    """Erasure scrubber (named for its count): blank the stored events of the friend; return rows changed."""
    statement = (
        update(WebhookEvent)
        .where(
            or_(
                WebhookEvent.friend_id == friend_id,
                WebhookEvent.line_user_id == line_user_id,
                WebhookEvent.source_id == line_user_id,
            )
        )
        .values(payload=ERASED_PAYLOAD, payload_kept=False, line_user_id=None, source_id=None)
    )
    return session.exec(statement).rowcount


def _without_message_content(payload: str) -> str:
    event = json.loads(payload)
    message = event.get("message") if isinstance(event, dict) else None
    if isinstance(message, dict):
        event["message"] = {key: message[key] for key in UNSENT_MESSAGE_KEYS if key in message} | {"unsent": True}
    return json.dumps(event, ensure_ascii=False)


def blank_unsent_message(session: Session, *, friend_id: int, line_message_id: str) -> int:
    """Drop the unsent message's content from the stored (and failed) payloads of the event that carried it;
    return rows changed."""
    keys = session.exec(
        select(Message.webhook_event_id).where(
            Message.friend_id == friend_id,
            Message.line_message_id == line_message_id,
            Message.webhook_event_id.is_not(None),
        )
    ).all()
    if not keys:
        return 0
    rows = [
        row
        for model in (WebhookEvent, FailedWebhookEvent)
        for row in session.exec(select(model).where(model.webhook_event_id.in_(keys)))
    ]
    for row in rows:
        row.payload = _without_message_content(row.payload)
        session.add(row)
    return len(rows)
