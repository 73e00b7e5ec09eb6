"""The outgoing-reply queue: messages answering a friend's event, sent after the webhook has answered LINE."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from crm.columns import utc_field
from crm.timeutil import utcnow


class ReplyState(StrEnum):
    """Where an outgoing reply is: waiting (or retrying), delivered, or refused by LINE for good."""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class OutgoingReply(SQLModel, table=True):
    """Messages for one friend, written in the event's transaction; sent by reply token while it is fresh,
    else by push under `retry_key` (stable across attempts, so a retry never delivers twice)."""

    __tablename__ = "outgoing_reply"
    __table_args__ = (
        UniqueConstraint("retry_key", name="uq_outgoing_reply_retry_key"),
        Index("ix_outgoing_reply_due", "state", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    friend_id: int = Field(foreign_key="friend.id", index=True)
    line_user_id: str = Field(max_length=64)
    messages: str = Field(sa_column=Column(Text, nullable=False))  # LINE message objects, JSON
    reply_token: str | None = Field(default=None, max_length=255)
    reply_expires_at: datetime | None = utc_field()
    retry_key: str = Field(max_length=36)
    source: str = Field(max_length=40)  # the feature that queued it, e.g. "survey"
    state: str = Field(default=ReplyState.PENDING, max_length=10)
    attempts: int = Field(default=0)
    next_attempt_at: datetime = utc_field(nullable=False, default_factory=utcnow)
    sent_via: str | None = Field(default=None, max_length=10)  # "reply" or "push"
    last_error: str | None = Field(default=None, max_length=300)
    created_at: datetime = utc_field(nullable=False, default_factory=utcnow)
    sent_at: datetime | None = utc_field()
