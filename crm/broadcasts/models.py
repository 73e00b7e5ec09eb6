"""Segments (絞り込み), broadcasts (一斉配信 / 予約配信), their recipients and the delivery requests to LINE.

A broadcast's recipients are snapshotted into broadcast_recipient when it starts; every request to LINE is a
delivery_request row whose retry key is stored before the request is made, so a worker killed at any moment
can retry with the same key and LINE (409) tells it the request was already accepted.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from crm.columns import utc_field
from crm.timeutil import utcnow


class BroadcastStatus(StrEnum):
    """Values of Broadcast.status."""

    DRAFT = "draft"
    AWAITING_APPROVAL = "awaiting_approval"
    SCHEDULED = "scheduled"  # approved (if needed) and waiting for scheduled_at (None: as soon as possible)
    SENDING = "sending"  # the worker is snapshotting or delivering
    PAUSED = "paused"  # LINE's monthly limit reached (pause_reason says so); resumes when allowed
    SENT = "sent"
    CANCELLED = "cancelled"
    MISSED = "missed"  # its time passed more than the grace period while no worker ran
    FAILED = "failed"


# A broadcast in one of these statuses is still the worker's: it may yet send.
ACTIVE_STATUSES = frozenset({BroadcastStatus.SCHEDULED, BroadcastStatus.SENDING, BroadcastStatus.PAUSED})


class Broadcast(SQLModel, table=True):
    """One send to a segment: content, schedule, options (control group, frequency cap, goal) and progress."""

    __tablename__ = "broadcast"
    __table_args__ = (Index("ix_broadcast_status_due", "status", "scheduled_at"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    purpose: str | None = Field(default=None, max_length=500)
    # JSON list of up to 5 message objects in LINE's shape; texts may hold {name} and {field:key}.
    messages: str = Field(sa_column=Column(Text, nullable=False))
    segment_id: int | None = Field(default=None, foreign_key="segment.id", ondelete="SET NULL")
    # The condition tree as it was when the broadcast was scheduled (JSON; null = every following friend).
    segment_tree: str | None = Field(default=None, sa_column=Column(Text))
    track_links: bool = Field(default=True)
    control_percent: int = Field(default=0)  # 0-50: held out at random, never sent
    cap_count: int | None = Field(default=None)  # frequency cap: skip friends who got >= cap_count
    cap_days: int | None = Field(default=None)  # broadcasts in the last cap_days days
    goal: str | None = Field(default=None, sa_column=Column(Text))  # JSON {"kind", "id", "days"}
    status: str = Field(default=BroadcastStatus.DRAFT, max_length=20)
    scheduled_at: datetime | None = utc_field()
    created_by: int | None = Field(default=None, foreign_key="staff.id", ondelete="SET NULL")
    approved_by: int | None = Field(default=None, foreign_key="staff.id", ondelete="SET NULL")
    estimated_recipients: int | None = Field(default=None)
    # The count a second person approved (or that was under the threshold when scheduled); a send whose
    # audience has grown past it and the threshold goes back to awaiting approval when it starts.
    approved_recipients: int | None = Field(default=None)
    recounted_recipients: int | None = Field(default=None)  # the count at the start that sent it back
    snapshot_done: bool = Field(default=False)
    snapshot_cursor: int = Field(default=0)  # last friend id snapshotted (resumable)
    pause_reason: str | None = Field(default=None, max_length=500)
    created_at: datetime = utc_field(nullable=False, default_factory=utcnow)
    updated_at: datetime = utc_field(nullable=False, default_factory=utcnow)
    started_at: datetime | None = utc_field()
    finished_at: datetime | None = utc_field()


class BroadcastVariant(SQLModel, table=True):
    """One content of an A/B broadcast (2-4 of them, labelled A-D): its messages and its weight, the percent of
    the sent group that receives it (the control group is held out before the split). A broadcast without
    variants sends Broadcast.messages to everyone; with variants, Broadcast.messages is a copy of variant A's."""

    __tablename__ = "broadcast_variant"
    __table_args__ = (UniqueConstraint("broadcast_id", "label", name="uq_broadcast_variant_label"),)

    id: int | None = Field(default=None, primary_key=True)
    broadcast_id: int = Field(foreign_key="broadcast.id")
    label: str = Field(max_length=2)
    weight: int = Field(default=50)  # percent of the sent group; a broadcast's weights add up to 100
    messages: str = Field(sa_column=Column(Text, nullable=False))  # JSON, like Broadcast.messages


class RecipientState(StrEnum):
    """Values of BroadcastRecipient.state."""

    QUEUED = "queued"  # in the snapshot, waiting for its delivery request
    HELD_OUT = "held_out"  # control group: never sent
    CAPPED = "capped"  # skipped by the frequency cap
    SENT = "sent"
    FAILED = "failed"


class BroadcastRecipient(SQLModel, table=True):
    """One friend of a broadcast's snapshot and what happened to them. A queued row's outcome is its delivery
    request's (read it through crm.broadcasts.recipients.outcomes(), never from `state` alone)."""

    __tablename__ = "broadcast_recipient"
    # No index of the stored state: readers take it through crm.broadcasts.recipients.outcomes().
    __table_args__ = (
        Index("ix_broadcast_recipient_friend", "friend_id", "sent_at"),
        Index("ix_broadcast_recipient_request", "request_id"),
    )

    # No foreign keys: written in big batches (the snapshot has just read its broadcast); neither broadcasts nor
    # friends are ever deleted.
    broadcast_id: int = Field(primary_key=True)
    friend_id: int = Field(primary_key=True)
    state: str = Field(default=RecipientState.QUEUED, max_length=10)
    request_id: int | None = Field(default=None)
    # The A/B variant the friend was drawn into (queued friends of a broadcast with variants; plain integer).
    variant_id: int | None = Field(default=None)
    error: str | None = Field(default=None, max_length=500)
    sent_at: datetime | None = utc_field()


class RequestKind(StrEnum):
    """Values of DeliveryRequest.kind."""

    MULTICAST = "multicast"
    PUSH = "push"


class RequestState(StrEnum):
    """Values of DeliveryRequest.state."""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class DeliveryRequest(SQLModel, table=True):
    """One request to LINE (a multicast of up to 500 friends or a push to one), with its stored retry key.

    It carries a broadcast's recipients (broadcast_recipient rows by request_id; of one variant when the
    broadcast has A/B variants) or one scenario step variant's sends (scenario_send rows by request_id;
    broadcast_id is then null)."""

    __tablename__ = "delivery_request"
    # A scenario step's due requests are found with broadcast_id IS NULL in the same index.
    __table_args__ = (Index("ix_delivery_request_due", "broadcast_id", "state", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    broadcast_id: int | None = Field(default=None, foreign_key="broadcast.id")
    broadcast_variant_id: int | None = Field(default=None)  # the A/B variant whose messages it carries
    # A scenario step's requests (no foreign keys: written in big batches, like their sends).
    scenario_step_id: int | None = Field(default=None)
    scenario_variant_id: int | None = Field(default=None)
    kind: str = Field(max_length=10)
    retry_key: str = Field(max_length=36, unique=True)
    state: str = Field(default=RequestState.PENDING, max_length=10)
    recipients: int = Field(default=0)
    attempts: int = Field(default=0)
    next_attempt_at: datetime | None = utc_field()
    line_request_id: str | None = Field(default=None, max_length=64)
    error: str | None = Field(default=None, max_length=500)
    created_at: datetime = utc_field(nullable=False, default_factory=utcnow)
    finished_at: datetime | None = utc_field()


class TestFriend(SQLModel, table=True):
    """A friend (usually a staff member's own LINE account) that receives broadcasts' test sends."""

    __tablename__ = "test_friend"

    friend_id: int = Field(foreign_key="friend.id", primary_key=True)
    label: str | None = Field(default=None, max_length=100)
    added_by: int | None = Field(default=None, foreign_key="staff.id", ondelete="SET NULL")
    added_at: datetime = utc_field(nullable=False, default_factory=utcnow)
