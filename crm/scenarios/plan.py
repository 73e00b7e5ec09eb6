"""What comes next for an enrolment: the next step whose timing gives a time (steps whose timing says skip are
recorded as SKIPPED on the way), or the end of the scenario."""

from __future__ import annotations

from collections.abc import Iterable
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
    window = window_of(scenario.window_start_minute, scenario.window_end_minute)
    for step in steps:
        if step.position <= after_position:
            continue
        due = step_due(
            step,
            enrolled_at=enrolment.enrolled_at,
            previous_at=enrolment.last_step_at,
            field_value=values.get((step.field_id, enrolment.friend_id)),
            now=now,
            window=window,
        )
        if due.at is not None:
            enrolment.next_position, enrolment.next_due_at = step.position, due.at
            session.add(enrolment)
            return
        record_send(
            session, enrolment=enrolment, step=step, state=SendState.SKIPPED, now=now, error=due.skip, pending=pending
        )
    finish(session, enrolment, now=now)


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
