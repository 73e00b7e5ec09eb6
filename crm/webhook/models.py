"""Every webhook event LINE delivered, stored once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from crm.columns import utc_field
from crm.timeutil import utcnow


class WebhookEvent(SQLModel, table=True):
    """Every event LINE delivered, stored once by its webhookEventId."""

    __tablename__ = "webhook_event"
    __table_args__ = (UniqueConstraint("webhook_event_id", name="uq_webhook_event_id"),)

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
