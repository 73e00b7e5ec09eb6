"""Outbound webhooks (endpoints, the outbox of deliveries, attempts) and the LINE webhook relay queue."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, Index, LargeBinary, Text
from sqlmodel import Field, SQLModel

from crm.columns import utc_field
from crm.timeutil import utcnow


class OutboxState(StrEnum):
    """Values of WebhookDelivery.state and RelayItem.state."""

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"  # gave up after the last attempt


class WebhookEndpoint(SQLModel, table=True):
    """A receiver an admin registered, with the events it wants and the secret its deliveries are signed with."""

    __tablename__ = "webhook_endpoint"

    id: int | None = Field(default=None, primary_key=True)
    url: str = Field(max_length=1000)
    description: str | None = Field(default=None, max_length=200)
    events: str = Field(max_length=500)  # space-separated event types
    secret: str = Field(max_length=100)
    active: bool = Field(default=True)
    created_by: int | None = Field(default=None, foreign_key="staff.id", ondelete="SET NULL")
    created_at: datetime = utc_field(nullable=False, default_factory=utcnow)


class WebhookDelivery(SQLModel, table=True):
    """One event for one endpoint (the outbox row), written in the transaction of the change that caused it."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        Index("ix_webhook_delivery_due", "state", "next_attempt_at"),
        Index("ix_webhook_delivery_endpoint", "endpoint_id", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    endpoint_id: int = Field(foreign_key="webhook_endpoint.id", ondelete="CASCADE")
    event_id: str = Field(max_length=40)  # the same event has the same id at every endpoint
    event_type: str = Field(max_length=40)
    body: str = Field(sa_column=Column(Text, nullable=False))  # the exact JSON sent and signed
    state: str = Field(default=OutboxState.PENDING, max_length=10)
    attempts: int = Field(default=0)
    next_attempt_at: datetime | None = utc_field()
    created_at: datetime = utc_field(nullable=False, default_factory=utcnow)
    finished_at: datetime | None = utc_field(index=True)  # pruned RETENTION after this


class WebhookAttempt(SQLModel, table=True):
    """One try to deliver an event (the console shows the latest per endpoint)."""

    __tablename__ = "webhook_attempt"
    __table_args__ = (Index("ix_webhook_attempt_endpoint", "endpoint_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    endpoint_id: int = Field(foreign_key="webhook_endpoint.id", ondelete="CASCADE")
    delivery_id: int = Field(foreign_key="webhook_delivery.id", ondelete="CASCADE", index=True)
    attempted_at: datetime = utc_field(nullable=False, default_factory=utcnow)
    status_code: int | None = Field(default=None)
    error: str | None = Field(default=None, max_length=300)
    ok: bool = Field(default=False)


CLICK_CURSOR = "link_click"  # the WebhookCursor that turns link clicks into link.clicked events


class WebhookCursor(SQLModel, table=True):
    """How far a worker tick has read an append-only table (link clicks become link.clicked events)."""

    __tablename__ = "webhook_cursor"

    name: str = Field(primary_key=True, max_length=40)
    last_id: int = Field(default=0)


class RelayItem(SQLModel, table=True):
    """A LINE webhook body to forward unchanged, with its original signature, to the relay URL."""

    __tablename__ = "relay_item"
    __table_args__ = (Index("ix_relay_item_due", "state", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    body: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    signature: str = Field(max_length=200)
    state: str = Field(default=OutboxState.PENDING, max_length=10)
    attempts: int = Field(default=0)
    next_attempt_at: datetime | None = utc_field()
    received_at: datetime = utc_field(nullable=False, default_factory=utcnow)
    last_status_code: int | None = Field(default=None)
    last_error: str | None = Field(default=None, max_length=300)
    failed_at: datetime | None = utc_field(index=True)  # gave up; pruned RELAY_FAILED_RETENTION_DAYS after this
