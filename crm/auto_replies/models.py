"""Auto-reply rules (自動応答), the hits they score, and the account's switch for all automatic answers.

A rule answers a friend's message with a template and actions: a keyword rule when a keyword matches, the
"any other message" and "outside business hours" fallbacks when no keyword rule did (each at most once per friend
per period). `auto_reply_hit` records each answer (unique per message and rule, so a redelivered event counts
once); `auto_reply_settings` is one row: the emergency stop and the rules' version, which each process compares
with its compiled rules to know when to compile them again.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from crm.columns import utc_field
from crm.timeutil import utcnow

SETTINGS_ID = 1


class RuleKind(StrEnum):
    """Values of AutoReplyRule.kind."""

    KEYWORD = "keyword"
    ANY_OTHER = "any_other"  # fallback: a message no keyword rule answered
    OUTSIDE_HOURS = "outside_hours"  # fallback: a message outside the rule's hours (its hours are business hours)


class MatchMode(StrEnum):
    """Values of AutoReplyRule.match_mode."""

    EXACT = "exact"
    CONTAINS = "contains"
    STARTS_WITH = "starts_with"
    REGEX = "regex"


class AutoReplyRule(SQLModel, table=True):
    """One rule; keyword rules are tried by `position`, fallbacks after them."""

    __tablename__ = "auto_reply_rule"
    __table_args__ = (Index("ix_auto_reply_rule_kind_position", "kind", "position"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    folder: str | None = Field(default=None, max_length=60)
    kind: str = Field(default=RuleKind.KEYWORD, max_length=20)
    keywords: str = Field(default="[]", sa_column=Column(Text, nullable=False))  # JSON list, as typed
    match_mode: str = Field(default=MatchMode.CONTAINS, max_length=12)
    ignore_spaces: bool = Field(default=False)
    condition_tree: str | None = Field(default=None, sa_column=Column(Text))  # a segment tree, JSON
    weekdays: str = Field(default="0123456", max_length=7)  # Monday 0 … Sunday 6, Japan time
    start_minute: int | None = Field(default=None)  # None with end_minute None: all day
    end_minute: int | None = Field(default=None)  # before start_minute: the window runs past midnight
    template_id: int | None = Field(default=None, foreign_key="message_template.id")
    actions: str = Field(default="[]", sa_column=Column(Text, nullable=False))  # action list, JSON
    enabled: bool = Field(default=True)
    position: int = Field(default=0)
    continue_to_next: bool = Field(default=False)  # keyword rules: later rules may answer too
    quiet_minutes: int = Field(default=1440)  # fallbacks: at most one answer per friend in this many minutes
    created_at: datetime = utc_field(nullable=False, default_factory=utcnow)
    updated_at: datetime = utc_field(nullable=False, default_factory=utcnow)


class AutoReplyHit(SQLModel, table=True):
    """A rule answered a friend's message (the reply it queued, if it sent a template)."""

    __tablename__ = "auto_reply_hit"
    __table_args__ = (
        UniqueConstraint("event_key", "rule_id", name="uq_auto_reply_hit_event_rule"),
        Index("ix_auto_reply_hit_rule_at", "rule_id", "at"),
        Index("ix_auto_reply_hit_friend_rule_at", "friend_id", "rule_id", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    rule_id: int = Field(foreign_key="auto_reply_rule.id")
    friend_id: int = Field(foreign_key="friend.id")
    event_key: str = Field(max_length=64)  # the message's webhook event id (message.webhook_event_id)
    reply_id: int | None = Field(default=None)  # the outgoing_reply carrying the answer
    at: datetime = utc_field(nullable=False, default_factory=utcnow)


class AutoReplySettings(SQLModel, table=True):
    """The account's one row: the emergency stop of every automatic answer, and the rules' version."""

    __tablename__ = "auto_reply_settings"

    id: int = Field(default=SETTINGS_ID, primary_key=True)
    stopped: bool = Field(default=False)
    stopped_at: datetime | None = utc_field()
    stopped_by: str | None = Field(default=None, max_length=120)
    rules_version: int = Field(default=0)
