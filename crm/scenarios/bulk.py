"""The set-based pieces of a bulk enrolment (crm.scenarios.enrolment.enrol_segment): which friends of an id range
may be enrolled, the first step's time (the same for everyone enrolled at once), the control group drawn in SQL,
and one INSERT … SELECT per range."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import exists, false, func, literal, or_, text, update
from sqlalchemy.sql import Select
from sqlmodel import Session, select

from crm.db import is_postgresql
from crm.friends.models import Friend
from crm.scenarios import plan
from crm.scenarios.exits import cancel_queued
from crm.scenarios.models import Enrolment, EnrolmentRule, EnrolmentStatus, ExitReason, Scenario, TimingKind
from crm.scenarios.timing import step_due, window_of
from crm.segments.service import recipient_ids
from crm.sql import insert_for, utc_literal

ACTIVE = EnrolmentStatus.ACTIVE
STATISTICS_AFTER = 10_000  # enrolments added at once


def first_due(session: Session, scenario: Scenario, *, now: datetime) -> tuple[int, datetime]:
    """(position, due) of the first step for friends enrolled now; a first step counted from a date field (per
    friend) or no step at all is left to the scenarios job to plan (NOT_PLANNED, due now)."""
    steps = plan.steps_of(session, scenario.id)
    if not steps or steps[0].timing_kind == TimingKind.FIELD_RELATIVE:
        return plan.NOT_PLANNED, now
    window = window_of(scenario.window_start_minute, scenario.window_end_minute)
    due = step_due(steps[0], enrolled_at=now, previous_at=None, field_value=None, now=now, window=window)
    return steps[0].position, due.at


def candidates(
    session: Session, scenario: Scenario, tree, *, now: datetime, trigger_key: str, ids: tuple[int, int]
) -> Select:
    """SELECT friend.id of the following friends in the id range [low, high) that the tree selects and the
    scenario's rules let in."""
    mine = Enrolment.scenario_id == scenario.id
    blocked_by = [Enrolment.status == ACTIVE, Enrolment.trigger_key == trigger_key]
    if scenario.enrolment_rule == EnrolmentRule.ONCE:
        blocked_by.append(literal(True))
    query = recipient_ids(session, tree, now=now).where(Friend.id >= ids[0], Friend.id < ids[1])
    query = query.where(~exists().where(Enrolment.friend_id == Friend.id, mine, or_(*blocked_by)))
    if scenario.exclusive:
        stronger = (
            select(Enrolment.id)
            .join(Scenario, Scenario.id == Enrolment.scenario_id)
            .where(Enrolment.friend_id == Friend.id, Enrolment.status == ACTIVE, Scenario.exclusive.is_(True))
            .where(Scenario.id != scenario.id, Scenario.priority >= scenario.priority)
        )
        query = query.where(~exists(stronger))
    return query


def exit_lower_priority(session: Session, scenario: Scenario, friend_ids: Select, *, now: datetime) -> int:
    """Exit the running enrolments of lower-priority exclusive scenarios of these friends ("higher_priority")."""
    weaker = select(Scenario.id).where(
        Scenario.exclusive.is_(True), Scenario.id != scenario.id, Scenario.priority < scenario.priority
    )
    statement = (
        update(Enrolment)
        .where(Enrolment.status == ACTIVE, Enrolment.scenario_id.in_(weaker), Enrolment.friend_id.in_(friend_ids))
        .values(
            status=EnrolmentStatus.EXITED,
            exit_reason=ExitReason.HIGHER_PRIORITY,
            finished_at=now,
            next_position=None,
            next_due_at=None,
        )
        .returning(Enrolment.id)
    )
    exited = list(session.exec(statement).scalars())
    if exited:
        cancel_queued(session, exited, reason=ExitReason.HIGHER_PRIORITY)
    return len(exited)


def _held_out(session: Session, percent: int):
    """The control-group draw, per row, in SQL."""
    if percent <= 0:
        return false()
    if is_postgresql(session):
        return func.random() * 100 < percent
    return (func.random() % 100 + 100) % 100 < percent


def insert_enrolments(
    session: Session, scenario: Scenario, friend_ids: Select, first: tuple[int, datetime], *, now, trigger_key: str
) -> int:
    """One INSERT … SELECT of active enrolments for these friends; return how many rows it wrote."""
    position, due = first
    columns = {
        "scenario_id": literal(scenario.id),
        "friend_id": Friend.id,
        "status": literal(ACTIVE.value),
        "held_out": _held_out(session, scenario.control_percent),
        "trigger_key": literal(trigger_key[:120]),
        "next_position": literal(position),
        "next_due_at": utc_literal(due),
        "silent_steps": literal(0),
        "enrolled_at": utc_literal(now),
    }
    rows = friend_ids.with_only_columns(*(value.label(name) for name, value in columns.items()))
    statement = (
        insert_for(session, Enrolment)
        .from_select(list(columns), rows)
        .on_conflict_do_nothing(index_elements=["scenario_id", "friend_id"], index_where=text("status = 'active'"))
        .returning(Enrolment.id)  # rowcount of INSERT … SELECT is not reported by every driver
    )
    return len(session.exec(statement).all())


def refresh_statistics(session: Session, enrolled: int) -> None:
    """After a big enrolment, PostgreSQL's planner gets fresh statistics at once (the due-step lookup reads the
    due index only when it knows most enrolments belong to active scenarios; autovacuum would take a while)."""
    if enrolled >= STATISTICS_AFTER and is_postgresql(session):
        session.exec(text("ANALYZE scenario_enrolment"))
