"""Action runs: one row per action a trigger asked for a friend, unique by (trigger, friend, position)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from crm.columns import utc_field
from crm.timeutil import utcnow


class ActionState(StrEnum):
    """Values of ActionRun.state."""

    PENDING = "pending"  # waiting for the worker (or the after-commit runner)
    DONE = "done"
    SKIPPED = "skipped"  # nothing to do (the tag or template was deleted since, the friend blocked, …)
    FAILED = "failed"  # gave up; `error` says why


class ActionRun(SQLModel, table=True):
    """One action for one friend from one trigger; the unique key makes a repeated trigger run nothing twice.

    `trigger_key` names the trigger occurrence, e.g. "survey_answer:812", "click:5531", "scenario_send:77",
    "staff:3:2026-12-07T01:02:03". These rows are also the friend's history of automatic actions.
    """

    __tablename__ = "action_run"
    __table_args__ = (
        UniqueConstraint("trigger_key", "friend_id", "position", name="uq_action_run_trigger"),
        Index("ix_action_run_due", "state", "next_attempt_at"),
        Index("ix_action_run_friend", "friend_id", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    trigger_key: str = Field(max_length=120)
    friend_id: int = Field(foreign_key="friend.id")
    position: int = Field(default=0)  # the action's index in the trigger's list
    kind: str = Field(max_length=30)  # add_tag, remove_tag, set_field, clear_field, start_scenario, …
    params: str = Field(sa_column=Column(Text, nullable=False))  # JSON object of the action's parameters
    source: str = Field(max_length=60)  # what fired it, shown in the history: "survey:3", "link:12", …
    state: str = Field(default=ActionState.PENDING, max_length=10)
    attempts: int = Field(default=0)
    next_attempt_at: datetime | None = utc_field()
    error: str | None = Field(default=None, max_length=300)
    created_at: datetime = utc_field(nullable=False, default_factory=utcnow)
    finished_at: datetime | None = utc_field()
