"""A friend's conversation: incoming and outgoing messages."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select, update

from crm.friends.models import Message, MessageDirection


def describe_incoming(message: dict) -> tuple[str, str | None]:
    """Return (type, text) to store for a LINE message object; text messages keep their body, files their name."""
    kind = str(message.get("type") or "unknown")[:20]
    field = {"text": "text", "file": "fileName"}.get(kind)
    text = message.get(field) if field and isinstance(message.get(field), str) else None
    return kind, text


def _whole_number(value) -> int | None:
    """LINE's fileSize or duration, when it is a plausible whole number."""
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**31 else None


def record_incoming(session: Session, *, friend_id: int, message: dict, at: datetime, webhook_event_id: str) -> Message:
    """Store a message the friend sent."""
    kind, text = describe_incoming(message)
    row = Message(
        friend_id=friend_id,
        direction=MessageDirection.INCOMING,
        message_type=kind,
        text=text,
        line_message_id=str(message.get("id") or "")[:64] or None,
        file_size=_whole_number(message.get("fileSize")) if kind == "file" else None,
        duration_ms=_whole_number(message.get("duration")) if kind in ("video", "audio") else None,
        webhook_event_id=webhook_event_id,
        created_at=at,
    )
    session.add(row)
    return row


def record_outgoing(
    session: Session, *, friend_id: int, message_type: str, text: str | None, sent_via: str, at: datetime
) -> Message:
    """Store a message the account sent to the friend."""
    row = Message(
        friend_id=friend_id,
        direction=MessageDirection.OUTGOING,
        message_type=message_type,
        text=text,
        sent_via=sent_via,
        created_at=at,
    )
    session.add(row)
    return row


def mark_unsent(session: Session, *, friend_id: int, line_message_id: str) -> None:
    """Hide a message the friend unsent, dropping its text as LINE asks."""
    session.exec(
        update(Message)
        .where(Message.friend_id == friend_id, Message.line_message_id == line_message_id)
        .values(unsent=True, text=None)
    )


def conversation(session: Session, *, friend_id: int, limit: int = 200) -> list[Message]:
    """Return the latest messages of a friend, oldest first."""
    rows = session.exec(
        select(Message)
        .where(Message.friend_id == friend_id)
        .order_by(Message.created_at.desc(), Message.id.desc())
        .limit(limit)
    ).all()
    return list(reversed(rows))
