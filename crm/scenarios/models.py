"""Scenarios, their steps and variants, the friends enrolled in them and every step sent (or not) to each.

Due steps are found through `scenario_enrolment.next_due_at` (indexed; NULL once an enrolment is no longer
active), never by scanning enrolments. One `scenario_send` row per enrolment and step is written in the same
transaction that moves the enrolment on, so a step is decided once; its delivery then goes through the
exactly-once engine (a delivery request with a stored retry key) or, right after a follow, by reply token.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, Index, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from crm.columns import utc_field
from crm.timeutil import utcnow


class ScenarioStatus(StrEnum):
    """Values of Scenario.status."""

    DRAFT = "draft"  # being built: enrols nobody
    ACTIVE = "active"  # triggers enrol, due steps go out
    PAUSED = "paused"  # triggers enrol nobody and nothing goes out; due steps wait for resume
    ARCHIVED = "archived"


class TriggerKind(StrEnum):
    """Values of Scenario.trigger_kind: what enrols a friend on its own."""

    FRIEND_ADDED = "friend_added"  # a follow; with include_unblocked also an unblock (follow.isUnblocked)
    TAG_ADDED = "tag_added"  # trigger_ref_id: the tag
    SURVEY_ANSWERED = "survey_answered"  # trigger_ref_id: the survey
    LINK_CLICKED = "link_clicked"  # trigger_ref_id: the tracked link (None: any tracked link)
    MANUAL = "manual"  # only a bulk enrolment of a segment, the API, staff or another scenario's action


class EnrolmentRule(StrEnum):
    """Values of Scenario.enrolment_rule: what a trigger does for a friend who was (or is) enrolled already."""

    ONCE = "once"  # never enrolled again
    AFTER_COMPLETION = "after_completion"  # again once the earlier enrolment has completed or exited
    RESTART = "restart"  # every trigger starts over from the first step


class Scenario(SQLModel, table=True):
    """A step scenario: trigger, enrolment rule, priority, control group, goal, exits and send window."""

    __tablename__ = "scenario"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    description: str | None = Field(default=None, max_length=500)
    status: str = Field(default=ScenarioStatus.DRAFT, max_length=10)
    trigger_kind: str = Field(default=TriggerKind.MANUAL, max_length=20)
    trigger_ref_id: int | None = Field(default=None)
    include_unblocked: bool = Field(default=False)  # friend_added: an unblock enrols too
    enrolment_rule: str = Field(default=EnrolmentRule.ONCE, max_length=20)
    # Exclusive scenarios run one at a time per friend: the higher priority wins (it exits the others with
    # reason "higher_priority"; a lower one does not start while a higher one runs).
    exclusive: bool = Field(default=False)
    priority: int = Field(default=0)
    control_percent: int = Field(default=0)  # 0-50: held out at enrolment (recorded, never sent)
    goal_tree: str | None = Field(default=None, sa_column=Column(Text))  # segment condition tree, JSON
    goal_days: int = Field(default=30)  # the goal counts when reached within this many days of enrolment
    exit_on_goal: bool = Field(default=True)
    exit_after_silent_steps: int | None = Field(default=None)  # no reaction (message, tap, click) after N steps
    opt_out_keywords: str | None = Field(default=None, max_length=500)  # one per line, e.g. 配信停止
    window_start_minute: int | None = Field(default=None)  # send window in Asia/Tokyo, minutes after midnight
    window_end_minute: int | None = Field(default=None)
    is_greeting: bool = Field(default=False)  # the account's ready-made welcome scenario
    created_by: int | None = Field(default=None, foreign_key="staff.id", ondelete="SET NULL")
    created_at: datetime = utc_field(nullable=False, default_factory=utcnow)
    updated_at: datetime = utc_field(nullable=False, default_factory=utcnow)


class TimingKind(StrEnum):
    """Values of ScenarioStep.timing_kind."""

    ELAPSED = "elapsed"  # delay_minutes after enrolment or after the previous step (elapsed_from)
    DAY_AT = "day_at"  # day_offset days after the enrolment day, at at_minute (Asia/Tokyo)
    FIELD_RELATIVE = "field_relative"  # day_offset days from the date in field_id, at at_minute (Asia/Tokyo)


class ConditionOtherwise(StrEnum):
    """Values of ScenarioStep.condition_otherwise: what happens when a step's condition is false."""

    SKIP = "skip"
    JUMP = "jump"  # go on at jump_to_position


class ScenarioStep(SQLModel, table=True):
    """One step: when it is due, an optional condition, a template (per variant) and actions."""

    __tablename__ = "scenario_step"
    __table_args__ = (UniqueConstraint("scenario_id", "position", name="uq_scenario_step_position"),)

    id: int | None = Field(default=None, primary_key=True)
    scenario_id: int = Field(foreign_key="scenario.id")
    position: int  # 1, 2, 3, … in order
    name: str | None = Field(default=None, max_length=100)
    timing_kind: str = Field(default=TimingKind.ELAPSED, max_length=20)
    elapsed_from: str = Field(default="enrolment", max_length=10)  # "enrolment" or "previous"
    delay_minutes: int = Field(default=0)
    day_offset: int = Field(default=0)  # negative: before the field's date
    at_minute: int | None = Field(default=None)  # minutes after midnight, Asia/Tokyo
    field_id: int | None = Field(default=None, foreign_key="field_definition.id", ondelete="SET NULL")
    condition_tree: str | None = Field(default=None, sa_column=Column(Text))  # segment tree JSON
    condition_otherwise: str = Field(default=ConditionOtherwise.SKIP, max_length=10)
    jump_to_position: int | None = Field(default=None)
    actions: str = Field(default="[]", sa_column=Column(Text, nullable=False))  # JSON list for crm.actions
    created_at: datetime = utc_field(nullable=False, default_factory=utcnow)
    updated_at: datetime = utc_field(nullable=False, default_factory=utcnow)


class StepVariant(SQLModel, table=True):
    """What a step sends: one variant, or 2-4 weighted variants of an A/B test (the variant is recorded per
    friend in scenario_send)."""

    __tablename__ = "scenario_step_variant"
    __table_args__ = (UniqueConstraint("step_id", "label", name="uq_scenario_step_variant_label"),)

    id: int | None = Field(default=None, primary_key=True)
    step_id: int = Field(foreign_key="scenario_step.id")
    label: str = Field(default="A", max_length=2)
    weight: int = Field(default=1)
    template_id: int | None = Field(default=None, foreign_key="message_template.id", ondelete="SET NULL")


class EnrolmentStatus(StrEnum):
    """Values of Enrolment.status."""

    ACTIVE = "active"
    COMPLETED = "completed"  # every step done
    EXITED = "exited"  # left before the end; exit_reason says why


class ExitReason(StrEnum):
    """Values of Enrolment.exit_reason."""

    GOAL = "goal"
    BLOCKED = "blocked"
    NO_REACTION = "no_reaction"
    OPTED_OUT = "opted_out"  # an opt-out keyword or button (配信停止)
    STAFF = "staff"  # removed by staff, the API or an action
    HIGHER_PRIORITY = "higher_priority"
    RESTARTED = "restarted"  # a new trigger started the scenario over (rule "restart")
    ERASED = "erased"
    INFLOW_ROUTE = "inflow_route"  # added through an inflow route that runs its own welcome instead


class Enrolment(SQLModel, table=True):
    """One friend's pass through a scenario; at most one active per scenario and friend."""

    __tablename__ = "scenario_enrolment"
    __table_args__ = (
        Index("ix_scenario_enrolment_due", "next_due_at"),
        Index("ix_scenario_enrolment_friend", "friend_id", "scenario_id"),
        Index("ix_scenario_enrolment_scenario_status", "scenario_id", "status"),
        Index(
            "uq_scenario_enrolment_active",
            "scenario_id",
            "friend_id",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    scenario_id: int = Field(foreign_key="scenario.id")
    friend_id: int = Field(foreign_key="friend.id")
    status: str = Field(default=EnrolmentStatus.ACTIVE, max_length=10)
    held_out: bool = Field(default=False)  # control group: goes through the steps, is never sent anything
    trigger_key: str = Field(max_length=120)  # what enrolled the friend, e.g. "follow:<event id>", "api:…"
    next_position: int | None = Field(default=None)  # the next step's position (None: none left)
    next_due_at: datetime | None = utc_field()  # when the next step is due; NULL unless active and waiting
    silent_steps: int = Field(default=0)  # steps sent since the friend last reacted
    reply_token: str | None = Field(default=None, max_length=255)  # the enrolling follow's, while fresh
    reply_expires_at: datetime | None = utc_field()
    enrolled_at: datetime = utc_field(nullable=False, default_factory=utcnow)
    last_step_at: datetime | None = utc_field()
    finished_at: datetime | None = utc_field()
    exit_reason: str | None = Field(default=None, max_length=20)
    goal_reached_at: datetime | None = utc_field()


class SendState(StrEnum):
    """Values of ScenarioSend.state."""

    QUEUED = "queued"  # decided, waiting for its delivery
    SENT = "sent"
    FAILED = "failed"
    HELD_OUT = "held_out"  # control group: recorded, never sent
    SKIPPED = "skipped"  # the step's condition was false, or it had nothing to send


UNREQUESTED = text("state = 'queued' AND request_id IS NULL AND reply_id IS NULL")
REPLYING = text("state = 'queued' AND reply_id IS NOT NULL")


class ScenarioSend(SQLModel, table=True):
    """One step reached by one enrolment: what was decided and what LINE answered."""

    __tablename__ = "scenario_send"
    __table_args__ = (
        UniqueConstraint("enrolment_id", "step_id", name="uq_scenario_send_enrolment_step"),
        Index("ix_scenario_send_step_state", "step_id", "state"),
        # Statistics count sends per step, variant and state from the index alone (no table reads).
        Index("ix_scenario_send_step_state_variant", "step_id", "state", "variant_id"),
        Index("ix_scenario_send_queued", "state", "due_at"),
        Index("ix_scenario_send_request", "request_id"),
        Index("ix_scenario_send_friend", "friend_id", "created_at"),
        # Delivery: the due sends not yet written into a request or a reply, and those waiting on a reply.
        # Their leading "state" lets a planner without statistics prefer them to ix_scenario_send_queued.
        Index(
            "ix_scenario_send_unrequested",
            "state",
            "due_at",
            "id",
            sqlite_where=UNREQUESTED,
            postgresql_where=UNREQUESTED,
        ),
        Index("ix_scenario_send_replying", "state", "reply_id", sqlite_where=REPLYING, postgresql_where=REPLYING),
    )

    id: int | None = Field(default=None, primary_key=True)
    enrolment_id: int = Field(foreign_key="scenario_enrolment.id")
    scenario_id: int = Field(foreign_key="scenario.id")
    step_id: int = Field(foreign_key="scenario_step.id")
    variant_id: int | None = Field(default=None)
    friend_id: int  # no foreign key: written in big batches, friends are never deleted
    state: str = Field(default=SendState.QUEUED, max_length=10)
    due_at: datetime = utc_field(nullable=False, default_factory=utcnow)
    request_id: int | None = Field(default=None)  # delivery_request carrying it
    reply_id: int | None = Field(default=None)  # outgoing_reply carrying it (right after a follow)
    sent_via: str | None = Field(default=None, max_length=10)  # "reply", "push" or "multicast"
    error: str | None = Field(default=None, max_length=500)
    created_at: datetime = utc_field(nullable=False, default_factory=utcnow)
    sent_at: datetime | None = utc_field()
