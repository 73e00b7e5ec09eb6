"""Moving due enrolments on: each step is decided once, in the transaction that moves the enrolment on.

`advance_due` claims enrolments whose `next_due_at` has come (a range scan of that index; FOR UPDATE SKIP LOCKED on
PostgreSQL, so several workers share the work), for ACTIVE scenarios only (a paused scenario's enrolments wait).
For the batch, per scenario: goals first (one segment query), then per step: the condition (one segment query for
all the step's friends), SKIP or JUMP (forward only) when false, the variant by weight, one ScenarioSend row
(QUEUED for delivery, HELD_OUT for the control group, SKIPPED), the step's actions, and the next step's time or the
end. A step without actions is decided for its whole group at once (progress_bulk: a few statements however many
enrolments); a step with actions one enrolment at a time, since each action run keys on its send's id. A worker
killed mid-batch leaves the batch rolled back; the next tick decides it once.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime

from sqlmodel import Session, select

from crm.actions.engine import run_actions
from crm.db import is_postgresql
from crm.friends.models import Friend
from crm.scenarios import plan
from crm.scenarios.exits import check_goals, finish
from crm.scenarios.models import (
    ConditionOtherwise,
    Enrolment,
    EnrolmentStatus,
    ExitReason,
    Scenario,
    ScenarioStatus,
    ScenarioStep,
    SendState,
    StepVariant,
    TimingKind,
)
from crm.scenarios.progress_bulk import SKIP_CONDITION, StepGroup, draw
from crm.scenarios.timing import SKIP_NO_DATE, step_due, window_of
from crm.segments.service import friend_ids as segment_friend_ids

SKIP_NOTHING_TO_SEND = "no_template"


def due_query(session: Session, now: datetime, limit: int, entity=Enrolment):
    """SELECT of enrolments of active scenarios whose next step is due, earliest first: a range of the due index,
    read in order until `limit` rows pass the filter (a paused scenario's due enrolments are passed over)."""
    active = list(session.exec(select(Scenario.id).where(Scenario.status == ScenarioStatus.ACTIVE)))
    # SQLite would read every enrolment of the active scenarios through the scenario/status index and sort them;
    # `scenario_id + 0` leaves it no index but the due one. PostgreSQL's planner needs the plain column (and its
    # statistics: see enrol_segment) to see that the filter keeps nearly every row.
    scenario = Enrolment.scenario_id if is_postgresql(session) else Enrolment.scenario_id + 0
    return (
        select(entity)
        .where(Enrolment.next_due_at <= now, scenario.in_(active or [-1]))
        .order_by(Enrolment.next_due_at)
        .limit(limit)
    )


def claim_due(session: Session, *, now: datetime, limit: int) -> list[Enrolment]:
    """The due enrolments, locked for this transaction (others' locked ones skipped on PostgreSQL)."""
    query = due_query(session, now, limit)
    if is_postgresql(session):
        query = query.with_for_update(skip_locked=True, of=Enrolment)
    return list(session.exec(query))


def advance_due(session: Session, *, now: datetime, limit: int = 1000) -> int:
    """Decide the due step of up to `limit` enrolments; return how many were claimed."""
    claimed = claim_due(session, now=now, limit=limit)
    by_scenario: dict[int, list[Enrolment]] = defaultdict(list)
    for enrolment in claimed:
        by_scenario[enrolment.scenario_id].append(enrolment)
    for scenario_id, enrolments in by_scenario.items():
        _advance_scenario(session, session.get(Scenario, scenario_id), enrolments, now=now)
    session.flush()
    return len(claimed)


def _advance_scenario(session: Session, scenario: Scenario, enrolments: list[Enrolment], *, now: datetime) -> None:
    if scenario.goal_tree:
        check_goals(session, scenario=scenario, now=now, enrolment_ids=[e.id for e in enrolments])
    enrolments = [e for e in enrolments if e.status == EnrolmentStatus.ACTIVE]
    if scenario.exit_after_silent_steps:
        silent = [e for e in enrolments if e.silent_steps >= scenario.exit_after_silent_steps]
        for enrolment in silent:
            finish(session, enrolment, now=now, reason=ExitReason.NO_REACTION)
        enrolments = [e for e in enrolments if e.status == EnrolmentStatus.ACTIVE]
    steps = plan.steps_of(session, scenario.id)
    values = plan.field_values(session, steps, [e.friend_id for e in enrolments])
    context = _Context(session, scenario, steps, values, now)
    by_position: dict[int, list[Enrolment]] = defaultdict(list)
    for enrolment in enrolments:
        by_position[enrolment.next_position or plan.NOT_PLANNED].append(enrolment)
    for position, group in sorted(by_position.items()):
        step = next((s for s in steps if s.position == position), None)
        if step is None:  # not planned yet (bulk enrolment), or the step was deleted meanwhile
            for enrolment in group:
                context.move_one(enrolment, after=position)
        else:
            _decide_step(context, step, group)
    plan.insert_sends(session, context.pending)


class _Context(StepGroup):
    """What deciding one scenario's steps for a batch needs, one by one where a step has actions."""

    def move_one(self, enrolment: Enrolment, *, after: int) -> None:
        plan.plan_next(
            self.session,
            scenario=self.scenario,
            steps=self.steps,
            enrolment=enrolment,
            after_position=after,
            values=self.values,
            now=self.now,
            pending=self.pending,
        )

    def record(self, enrolment: Enrolment, step: ScenarioStep, state: str, *, now_needs_id: bool = False, **values):
        """Record the send; with `now_needs_id` it is inserted at once and its id returned (actions key on it)."""
        pending = None if now_needs_id else self.pending
        return plan.record_send(
            self.session, enrolment=enrolment, step=step, state=state, now=self.now, pending=pending, **values
        )


def _decide_step(context: _Context, step: ScenarioStep, group: list[Enrolment]) -> None:
    group = _field_dates_still_due(context, step, group)
    passing = _passing(context, step, group)
    variants = _variants(context.session, step)
    actions = json.loads(step.actions or "[]")
    if not actions:  # the common case: set-based
        context.decide(step, group, passing, variants)
        return
    for enrolment in group:
        due_at = enrolment.next_due_at
        enrolment.last_step_at = context.now
        if enrolment.friend_id not in passing:
            context.record(enrolment, step, SendState.SKIPPED, error=SKIP_CONDITION)
            jump = step.jump_to_position
            jumping = step.condition_otherwise == ConditionOtherwise.JUMP and jump and jump > step.position
            context.move_one(enrolment, after=jump - 1 if jumping else step.position)
            continue
        if enrolment.held_out:
            context.record(enrolment, step, SendState.HELD_OUT)
        else:
            state = SendState.QUEUED if variants else SendState.SKIPPED
            variant_id = pick_variant(variants).id if variants else None
            send_id = context.record(enrolment, step, state, variant_id=variant_id, due_at=due_at, now_needs_id=True)
            enrolment.silent_steps += 1 if variants else 0
            _run_actions(context, actions, enrolment, send_id)
        context.move_one(enrolment, after=step.position)


def _field_dates_still_due(context: _Context, step: ScenarioStep, group: list[Enrolment]) -> list[Enrolment]:
    """A step counted from a date field reads the date again: gone → skipped; moved later → it waits; its time
    being past is expected here (it was in the future when planned)."""
    if step.timing_kind != TimingKind.FIELD_RELATIVE:
        return group
    window = window_of(context.scenario.window_start_minute, context.scenario.window_end_minute)
    keep = []
    for enrolment in group:
        value = context.values.get((step.field_id, enrolment.friend_id))
        due = step_due(
            step, enrolled_at=enrolment.enrolled_at, previous_at=None, field_value=value, now=context.now, window=window
        )
        if due.skip == SKIP_NO_DATE:
            context.record(enrolment, step, SendState.SKIPPED, error=SKIP_NO_DATE)
            context.move_one(enrolment, after=step.position)
        elif due.at is not None and due.at > context.now:
            enrolment.next_due_at = due.at
            context.session.add(enrolment)
        else:
            keep.append(enrolment)
    return keep


def _passing(context: _Context, step: ScenarioStep, group: list[Enrolment]) -> set[int]:
    """The friends of the group for whom the step's condition holds (one segment query for all of them)."""
    friend_ids = [enrolment.friend_id for enrolment in group]
    if not step.condition_tree or not friend_ids:
        return set(friend_ids)
    query = segment_friend_ids(context.session, step.condition_tree, now=context.now).where(Friend.id.in_(friend_ids))
    return set(context.session.execute(query).scalars())


def _variants(session: Session, step: ScenarioStep) -> list[StepVariant]:
    query = select(StepVariant).where(StepVariant.step_id == step.id, StepVariant.template_id.is_not(None))
    return list(session.exec(query.order_by(StepVariant.label)))


def pick_variant(variants: list[StepVariant]) -> StepVariant:
    """One variant, drawn by weight (a weight of 0 or less is never drawn unless all are)."""
    return draw(variants, 1)[0]


def _run_actions(context: _Context, actions: list, enrolment: Enrolment, send_id: int) -> None:
    """Run the step's actions through the action engine, once per send (its id keys them)."""
    run_actions(
        context.session,
        friend_id=enrolment.friend_id,
        actions=actions,
        trigger_key=f"scenario_send:{send_id}",
        source=f"scenario:{enrolment.scenario_id}",
        reply_token=None,
        defer=False,
    )
