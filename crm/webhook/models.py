"""Every webhook event LINE delivered, stored once, and the events that could not be handled."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, Text, UniqueConstraint, text, true
from sqlmodel import Field, SQLModel

from crm.columns import utc_field
from crm.timeutil import utcnow

WAITING = text("handled_at IS NULL")


class WebhookEvent(SQLModel, table=True):
    """Every event LINE delivered, stored once by its webhookEventId; `handled_at` is NULL while the event waits
    for its handling (queued mode: acknowledged, not yet acted on)."""

    __tablename__ = "webhook_event"
    __table_args__ = (
        UniqueConstraint("webhook_event_id", name="uq_webhook_event_id"),
        # The retention job seeks the old rows whose payload is still kept, never the pruned ones.
        Index("ix_webhook_event_payload_kept_received_at", "payload_kept", "received_at"),
        # The consumer claims the events stored but not yet handled, oldest first: a handful of rows at any time.
        Index("ix_webhook_event_waiting", "id", sqlite_where=WAITING, postgresql_where=WAITING),
    )

    id: int | None = Field(default=None, primary_key=True)
    webhook_event_id: str = Field(max_length=64)
    event_type: str = Field(max_length=40)
    source_type: str | None = Field(default=None, max_length=10)
    source_id: str | None = Field(default=None, max_length=64)
    line_user_id: str | None = Field(default=None, max_length=64)
    friend_id: int | None = Field(default=None, foreign_key="friend.id", index=True)
    is_redelivery: bool = Field(default=False)
    occurred_at: datetime = utc_field(nullable=False)
    received_at: datetime = utc_field(nullable=False, default_factory=utcnow)
    payload: str = Field(sa_column=Column(Text, nullable=False))
    payload_kept: bool = Field(default=True, sa_column_kwargs={"server_default": true()})
    handled_at: datetime | None = utc_field()


class FailedWebhookEvent(SQLModel, table=True):
    """An event whose handling raised: kept aside with its error until an admin's retry (or LINE's redelivery)
    handles it."""

    __tablename__ = "failed_webhook_event"
    __table_args__ = (UniqueConstraint("webhook_event_id", name="uq_failed_webhook_event_id"),)

    id: int | None = Field(default=None, primary_key=True)
    webhook_event_id: str = Field(max_length=64)
    event_type: str = Field(max_length=40)
    line_user_id: str | None = Field(default=None, max_length=64, index=True)
    payload: str = Field(sa_column=Column(Text, nullable=False))
    error_class: str = Field(max_length=120)
    error_message: str = Field(max_length=500)
    attempts: int = Field(default=1)
    first_failed_at: datetime = utc_field(nullable=False, default_factory=utcnow)
    last_failed_at: datetime = utc_field(nullable=False, default_factory=utcnow)
    resolved_at: datetime | None = utc_field(index=True)
