"""What comes next for an enrolment: the next step whose timing gives a time (steps whose timing says skip are
recorded as SKIPPED on the way), or the end of the scenario."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert
from sqlmodel import Session, select

from crm.fields.models import FieldValue
from crm.scenarios.exits import finish
from crm.scenarios.models import Enrolment, Scenario, ScenarioSend, ScenarioStep, SendState, TimingKind
from crm.scenarios.timing import step_due, window_of

NOT_PLANNED = 0  # next_position of an enrolment whose first step is still to be planned (bulk enrolment)


def steps_of(session: Session, scenario_id: int) -> list[ScenarioStep]:
    """The scenario's steps in order."""
    query = select(ScenarioStep).where(ScenarioStep.scenario_id == scenario_id).order_by(ScenarioStep.position)
    return list(session.exec(query).all())


def field_values(session: Session, steps: Iterable[ScenarioStep], friend_ids: list[int]) -> dict[tuple[int, int], str]:
    """{(field id, friend id): value} for the date fields these steps count from, for these friends (one query)."""
    field_ids = {step.field_id for step in steps if step.timing_kind == TimingKind.FIELD_RELATIVE and step.field_id}
    if not field_ids or not friend_ids:
        return {}
    rows = session.exec(
        select(FieldValue.field_id, FieldValue.friend_id, FieldValue.value).where(
            FieldValue.field_id.in_(field_ids), FieldValue.friend_id.in_(friend_ids)
        )
    )
    return {(field_id, friend_id): value for field_id, friend_id, value in rows}


@dataclass(frozen=True)
class Next:
    """Where an enrolment goes after a position: the next step's position and due time (None, None: the end),
    and the steps skipped on the way with the reason each was."""

    position: int | None
    due_at: datetime | None
    skipped: tuple[tuple[ScenarioStep, str], ...] = ()


def next_after(
    scenario: Scenario,
    steps: list[ScenarioStep],
    *,
    after_position: int,
    enrolled_at: datetime,
    previous_at: datetime | None,
    field_value_of: Callable[[int | None], str | None],
    now: datetime,
) -> Next:
    """The next step after `after_position` whose timing gives a time, for an enrolment made at `enrolled_at`
    whose previous step went at `previous_at`; `field_value_of(field_id)` reads the friend's date fields."""
    window = window_of(scenario.window_start_minute, scenario.window_end_minute)
    skipped = []
    for step in steps:
        if step.position <= after_position:
            continue
        due = step_due(
            step,
            enrolled_at=enrolled_at,
            previous_at=previous_at,
            field_value=field_value_of(step.field_id),
            now=now,
            window=window,
        )
        if due.at is not None:
            return Next(step.position, due.at, tuple(skipped))
        skipped.append((step, due.skip))
    return Next(None, None, tuple(skipped))


def plan_next(
    session: Session,
    *,
    scenario: Scenario,
    steps: list[ScenarioStep],
    enrolment: Enrolment,
    after_position: int,
    values: dict[tuple[int, int], str],
    now: datetime,
    pending: list[dict] | None = None,
) -> None:
    """Point the enrolment at its next step after `after_position` and when it is due, or complete it (sends of
    steps skipped on the way go to `pending` when given, see record_send)."""
    following = next_after(
        scenario,
        steps,
        after_position=after_position,
        enrolled_at=enrolment.enrolled_at,
        previous_at=enrolment.last_step_at,
        field_value_of=lambda field_id: values.get((field_id, enrolment.friend_id)),
        now=now,
    )
    record_skipped(session, enrolment, following, now=now, pending=pending)
    if following.position is None:
        finish(session, enrolment, now=now)
    else:
        enrolment.next_position, enrolment.next_due_at = following.position, following.due_at
        session.add(enrolment)


def record_skipped(
    session: Session, enrolment: Enrolment, following: Next, *, now: datetime, pending: list[dict] | None
) -> None:
    """A SKIPPED send, with its reason, for each step skipped on the way to `following`."""
    for step, reason in following.skipped:
        record_send(
            session, enrolment=enrolment, step=step, state=SendState.SKIPPED, now=now, error=reason, pending=pending
        )


def record_send(
    session: Session,
    *,
    enrolment: Enrolment,
    step: ScenarioStep,
    state: str,
    now: datetime,
    variant_id: int | None = None,
    error: str | None = None,
    due_at: datetime | None = None,
    pending: list[dict] | None = None,
) -> int | None:
    """The one decision about this step for this enrolment (unique per enrolment and step): inserted now (its id
    returned), or added to `pending` for one multi-row insert of the batch (insert_sends)."""
    row = {
        "enrolment_id": enrolment.id,
        "scenario_id": enrolment.scenario_id,
        "step_id": step.id,
        "variant_id": variant_id,
        "friend_id": enrolment.friend_id,
        "state": state,
        "due_at": due_at or now,
        "error": error,
        "created_at": now,
    }
    if pending is not None:
        pending.append(row)
        return None
    return session.exec(insert(ScenarioSend).values(**row).returning(ScenarioSend.id)).scalar()


def insert_sends(session: Session, rows: list[dict]) -> None:
    """Write the batch's sends in one statement."""
    if rows:
        session.exec(insert(ScenarioSend), params=rows)
