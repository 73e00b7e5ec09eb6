"""A step decided for a whole group of due enrolments at once (crm.scenarios.progress, for steps without actions).

The same decisions as one by one, written set-based: the condition is one segment query (progress), the control
group and the variants (drawn by weight in one call) split the group, each part's sends are one INSERT … SELECT
from the enrolments, and the enrolments move on with one UPDATE per distinct next step and time (friends enrolled
together share them: a bulk enrolment of a million friends gives one). The claimed Enrolment objects are kept in
step with what was written, without another write, and a completed enrolment is still told to listeners.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from datetime import datetime

from sqlalchemy import insert, literal, null, select, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session

from crm.scenarios import plan
from crm.scenarios.events import ScenarioEvent, emit
from crm.scenarios.models import (
    ConditionOtherwise,
    Enrolment,
    EnrolmentStatus,
    Scenario,
    ScenarioSend,
    ScenarioStep,
    SendState,
    StepVariant,
    TimingKind,
)
from crm.sql import utc_literal

SKIP_CONDITION = "condition"
_random = secrets.SystemRandom()
_enrolment = Enrolment.__table__


def draw(variants: list[StepVariant], count: int) -> list[StepVariant]:
    """`count` variants drawn by weight (a weight of 0 or less is never drawn unless all are)."""
    weights = [max(variant.weight, 0) for variant in variants]
    if len(variants) == 1 or not any(weights):
        return [variants[0]] * count
    return _random.choices(variants, weights=weights, k=count)


class StepGroup:
    """One scenario's due enrolments at one step, decided together."""

    def __init__(self, session: Session, scenario: Scenario, steps: list[ScenarioStep], values: dict, now: datetime):
        self.session, self.scenario, self.steps, self.values, self.now = session, scenario, steps, values, now
        self.pending: list[dict] = []  # sends of steps skipped on the way (plan.insert_sends writes them)

    def decide(
        self, step: ScenarioStep, group: list[Enrolment], passing: set[int], variants: list[StepVariant]
    ) -> None:
        """Skip the step for those failing its condition (and jump, if it says so), hold it back for the control
        group, queue a variant for the others; then move every enrolment on."""
        failing = [enrolment for enrolment in group if enrolment.friend_id not in passing]
        held_out = [enrolment for enrolment in group if enrolment.friend_id in passing and enrolment.held_out]
        reached = [enrolment for enrolment in group if enrolment.friend_id in passing and not enrolment.held_out]
        self._insert_sends(step, failing, SendState.SKIPPED, error=SKIP_CONDITION)
        self._insert_sends(step, held_out, SendState.HELD_OUT)
        if variants:
            by_variant: dict[int, list[Enrolment]] = defaultdict(list)
            for enrolment, variant in zip(reached, draw(variants, len(reached)), strict=True):
                by_variant[variant.id].append(enrolment)
            for variant_id, members in by_variant.items():
                self._insert_sends(step, members, SendState.QUEUED, variant_id=variant_id, at_due_time=True)
        else:
            self._insert_sends(step, reached, SendState.SKIPPED, at_due_time=True)
        jump = step.jump_to_position
        jumping = step.condition_otherwise == ConditionOtherwise.JUMP and jump and jump > step.position
        self.move_on(failing, after=jump - 1 if jumping else step.position)
        self.move_on(held_out, after=step.position)
        self.move_on(reached, after=step.position, silent=1 if variants else 0)

    def _insert_sends(
        self,
        step: ScenarioStep,
        enrolments: list[Enrolment],
        state: str,
        *,
        variant_id: int | None = None,
        error: str | None = None,
        at_due_time: bool = False,
    ) -> None:
        """One INSERT … SELECT of these enrolments' sends of the step (due when the step was due, or now)."""
        if not enrolments:
            return
        columns = {
            "enrolment_id": _enrolment.c.id,
            "scenario_id": _enrolment.c.scenario_id,
            "step_id": literal(step.id),
            "variant_id": null() if variant_id is None else literal(variant_id),
            "friend_id": _enrolment.c.friend_id,
            "state": literal(str(state)),
            "due_at": _enrolment.c.next_due_at if at_due_time else utc_literal(self.now),
            "error": null() if error is None else literal(error),
            "created_at": utc_literal(self.now),
        }
        rows = select(*(value.label(name) for name, value in columns.items())).where(
            _enrolment.c.id.in_([enrolment.id for enrolment in enrolments])
        )
        self.session.execute(insert(ScenarioSend.__table__).from_select(list(columns), rows))

    def move_on(self, enrolments: list[Enrolment], *, after: int, silent: int = 0) -> None:
        """Point the enrolments at their next step after `after` (their last step now), or complete them; one
        UPDATE per distinct outcome. `silent`: added to their silent steps."""
        by_outcome: dict[tuple, list[Enrolment]] = defaultdict(list)
        for enrolment in enrolments:
            by_outcome[self._outcome_key(enrolment, after)].append(enrolment)
        for members in by_outcome.values():
            first = members[0]
            following = plan.next_after(
                self.scenario,
                self.steps,
                after_position=after,
                enrolled_at=first.enrolled_at,
                previous_at=self.now,
                field_value_of=lambda field_id, friend_id=first.friend_id: self.values.get((field_id, friend_id)),
                now=self.now,
            )
            self._apply(members, following, silent)

    def _outcome_key(self, enrolment: Enrolment, after: int) -> tuple:
        """What the next step's time depends on: the enrolment time and the friend's date fields read ahead."""
        fields = tuple(
            self.values.get((step.field_id, enrolment.friend_id))
            for step in self.steps
            if step.position > after and step.timing_kind == TimingKind.FIELD_RELATIVE
        )
        return enrolment.enrolled_at, fields

    def _apply(self, members: list[Enrolment], following: plan.Next, silent: int) -> None:
        completed = following.position is None
        changes = {"last_step_at": self.now, "next_position": following.position, "next_due_at": following.due_at}
        if completed:
            changes |= {"status": EnrolmentStatus.COMPLETED, "exit_reason": None, "finished_at": self.now}
        ids = [enrolment.id for enrolment in members]
        statement = update(_enrolment).where(_enrolment.c.id.in_(ids))
        self.session.execute(statement.values(**changes, silent_steps=_enrolment.c.silent_steps + silent))
        for enrolment in members:
            plan.record_skipped(self.session, enrolment, following, now=self.now, pending=self.pending)
            for name, value in changes.items():
                set_committed_value(enrolment, name, value)
            set_committed_value(enrolment, "silent_steps", enrolment.silent_steps + silent)
            if completed:
                emit(self.session, ScenarioEvent.COMPLETED, enrolment, None)
