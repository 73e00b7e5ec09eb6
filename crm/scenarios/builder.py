"""Building a scenario: its settings, its steps (positions kept 1..n) and its status, every change audited."""

from __future__ import annotations

import json

from sqlalchemy import delete, func, select, update
from sqlmodel import Session

from crm.errors import N_
from crm.scenarios.checks import ScenarioError, clean_settings, clean_step
from crm.scenarios.models import (
    ConditionOtherwise,
    Enrolment,
    EnrolmentStatus,
    Scenario,
    ScenarioSend,
    ScenarioStatus,
    ScenarioStep,
    StepVariant,
)
from crm.staff.audit import Actor, record
from crm.timeutil import utcnow

SETTINGS = (
    "name description trigger_kind trigger_ref_id include_unblocked enrolment_rule exclusive priority "
    "control_percent goal_tree goal_days exit_on_goal exit_after_silent_steps opt_out_keywords "
    "window_start_minute window_end_minute"
).split()
# Which status a staff action moves a scenario from and to.
MOVES = {
    "activate": ({ScenarioStatus.DRAFT}, ScenarioStatus.ACTIVE),
    "pause": ({ScenarioStatus.ACTIVE}, ScenarioStatus.PAUSED),
    "resume": ({ScenarioStatus.PAUSED}, ScenarioStatus.ACTIVE),
    "archive": ({ScenarioStatus.DRAFT, ScenarioStatus.ACTIVE, ScenarioStatus.PAUSED}, ScenarioStatus.ARCHIVED),
}


def get(session: Session, scenario_id: int) -> Scenario:
    """The scenario, or ScenarioError "not_found"."""
    scenario = session.get(Scenario, scenario_id) if isinstance(scenario_id, int) else None
    if scenario is None:
        raise ScenarioError(N_("That scenario does not exist."), code="not_found")
    return scenario


def steps_of(session: Session, scenario_id: int) -> list[ScenarioStep]:
    """The scenario's steps in order."""
    query = select(ScenarioStep).where(ScenarioStep.scenario_id == scenario_id).order_by(ScenarioStep.position)
    return list(session.execute(query).scalars())


def variants_of(session: Session, step_ids: list[int]) -> dict[int, list[StepVariant]]:
    """Each step's variants by label (one query)."""
    found: dict[int, list[StepVariant]] = {step_id: [] for step_id in step_ids}
    if step_ids:
        query = select(StepVariant).where(StepVariant.step_id.in_(step_ids)).order_by(StepVariant.label)
        for variant in session.execute(query).scalars():
            found[variant.step_id].append(variant)
    return found


def _settings_of(scenario: Scenario) -> dict:
    return {name: getattr(scenario, name) for name in SETTINGS}


def _editable(scenario: Scenario) -> None:
    if scenario.status == ScenarioStatus.ARCHIVED:
        raise ScenarioError(N_("An archived scenario cannot be changed."))


def create_scenario(session: Session, *, actor: Actor, settings: dict) -> Scenario:
    """A new draft scenario after checking every setting."""
    values = clean_settings(session, settings)
    scenario = Scenario(**values, status=ScenarioStatus.DRAFT, created_by=actor.staff_id)
    session.add(scenario)
    session.flush()
    record(session, actor=actor, action="scenario.created", target_type="scenario", target_id=scenario.id, after=values)
    return scenario


def update_scenario(session: Session, *, actor: Actor, scenario_id: int, settings: dict) -> Scenario:
    """Change settings (those not given keep their value); any status but archived."""
    scenario = get(session, scenario_id)
    _editable(scenario)
    before = _settings_of(scenario)
    values = clean_settings(session, before | settings)
    for name, value in values.items():
        setattr(scenario, name, value)
    scenario.updated_at = utcnow()
    session.add(scenario)
    changed = {name: value for name, value in values.items() if before[name] != value}
    record(
        session,
        actor=actor,
        action="scenario.updated",
        target_type="scenario",
        target_id=scenario.id,
        before={name: before[name] for name in changed},
        after=changed,
    )
    return scenario


def delete_scenario(session: Session, *, actor: Actor, scenario_id: int) -> str:
    """Delete a draft that never enrolled anyone ("deleted"); archive any other ("archived")."""
    scenario = get(session, scenario_id)
    enrolled = session.execute(select(func.count()).where(Enrolment.scenario_id == scenario_id)).scalar_one()
    if scenario.status != ScenarioStatus.DRAFT or enrolled:
        if scenario.status != ScenarioStatus.ARCHIVED:
            change_status(session, actor=actor, scenario_id=scenario_id, move="archive")
        return "archived"
    step_ids = select(ScenarioStep.id).where(ScenarioStep.scenario_id == scenario_id)
    session.execute(delete(StepVariant).where(StepVariant.step_id.in_(step_ids)))
    session.execute(delete(ScenarioStep).where(ScenarioStep.scenario_id == scenario_id))
    record(
        session,
        actor=actor,
        action="scenario.deleted",
        target_type="scenario",
        target_id=scenario_id,
        before=_settings_of(scenario),
    )
    session.delete(scenario)
    session.flush()
    return "deleted"


def change_status(session: Session, *, actor: Actor, scenario_id: int, move: str) -> Scenario:
    """activate / pause / resume / archive; a scenario without steps cannot start."""
    scenario = get(session, scenario_id)
    if move not in MOVES:
        raise ScenarioError(N_("That change is not possible now."))
    allowed, target = MOVES[move]
    if scenario.status not in allowed:
        raise ScenarioError(N_("That change is not possible now."))
    if target == ScenarioStatus.ACTIVE and not steps_of(session, scenario_id):
        raise ScenarioError(N_("Add at least one step before starting the scenario."))
    before = scenario.status
    scenario.status = target
    scenario.updated_at = utcnow()
    session.add(scenario)
    record(
        session,
        actor=actor,
        action=f"scenario.{move}d",
        target_type="scenario",
        target_id=scenario_id,
        before={"status": before},
        after={"status": target},
    )
    return scenario


def _step_snapshot(step: ScenarioStep, variants: list[dict]) -> dict:
    columns = ("position", "name", "timing_kind", "elapsed_from", "delay_minutes", "day_offset", "at_minute")
    snapshot = {name: getattr(step, name) for name in columns}
    snapshot |= {"field_id": step.field_id, "condition_tree": step.condition_tree, "actions": json.loads(step.actions)}
    return snapshot | {
        "condition_otherwise": step.condition_otherwise,
        "jump_to_position": step.jump_to_position,
        "variants": variants,
    }


def _write_variants(session: Session, step_id: int, variants: list[dict]) -> None:
    session.execute(delete(StepVariant).where(StepVariant.step_id == step_id))
    session.add_all(StepVariant(step_id=step_id, **variant) for variant in variants)
    session.flush()


def _stored_variants(session: Session, step_id: int) -> list[dict]:
    return [
        {"label": variant.label, "weight": variant.weight, "template_id": variant.template_id}
        for variant in variants_of(session, [step_id])[step_id]
    ]


def add_step(session: Session, *, actor: Actor, scenario_id: int, step: dict) -> ScenarioStep:
    """A new last step."""
    scenario = get(session, scenario_id)
    _editable(scenario)
    position = len(steps_of(session, scenario_id)) + 1
    columns, variants = clean_step(session, step, position=position, step_count=position)
    row = ScenarioStep(scenario_id=scenario_id, position=position, **columns)
    session.add(row)
    session.flush()
    _write_variants(session, row.id, variants)
    after = _step_snapshot(row, variants)
    record(
        session, actor=actor, action="scenario.step_added", target_type="scenario", target_id=scenario_id, after=after
    )
    return row


def get_step(session: Session, step_id: int) -> ScenarioStep:
    """The step, or ScenarioError "not_found"."""
    step = session.get(ScenarioStep, step_id) if isinstance(step_id, int) else None
    if step is None:
        raise ScenarioError(N_("That step does not exist."), code="not_found")
    return step


def update_step(session: Session, *, actor: Actor, step_id: int, step: dict) -> ScenarioStep:
    """Change a step's name, timing, condition, variants and actions (its position stays)."""
    row = get_step(session, step_id)
    _editable(get(session, row.scenario_id))
    count = len(steps_of(session, row.scenario_id))
    columns, variants = clean_step(session, step, position=row.position, step_count=count)
    before = _step_snapshot(row, _stored_variants(session, step_id))
    for name, value in columns.items():
        setattr(row, name, value)
    row.updated_at = utcnow()
    session.add(row)
    _write_variants(session, step_id, variants)
    record(
        session,
        actor=actor,
        action="scenario.step_updated",
        target_type="scenario",
        target_id=row.scenario_id,
        before=before,
        after=_step_snapshot(row, variants),
    )
    return row


def _refuse_if_enrolled(session: Session, scenario_id: int) -> None:
    """Moving or deleting steps would move friends waiting at a position: only before anyone is enrolled."""
    query = select(func.count()).where(Enrolment.scenario_id == scenario_id, Enrolment.status == EnrolmentStatus.ACTIVE)
    if session.execute(query).scalar_one():
        raise ScenarioError(
            N_("Friends are on their way through this scenario: steps can be edited or added, not moved or deleted.")
        )


def _renumber(session: Session, scenario_id: int, mapping: dict[int, int]) -> None:
    """Apply old → new positions to steps and jump targets; refuse a jump that would no longer go forward."""
    steps = steps_of(session, scenario_id)
    for step in steps:
        new_position = mapping.get(step.position, step.position)
        if step.condition_otherwise == ConditionOtherwise.JUMP:
            target = mapping.get(step.jump_to_position, step.jump_to_position)
            if target is None or target <= new_position:
                raise ScenarioError(
                    N_("Step %(position)s jumps to this step: change that jump first."), position=step.position
                )
            step.jump_to_position = target
    # Through negative positions first: the unique (scenario, position) index holds at every statement.
    session.execute(
        update(ScenarioStep).where(ScenarioStep.scenario_id == scenario_id).values(position=-ScenarioStep.position)
    )
    for step in steps:
        old = abs(step.position)  # the bulk update may or may not have negated the loaded rows
        step.position = mapping.get(old, old)
    session.flush()


def delete_step(session: Session, *, actor: Actor, step_id: int) -> None:
    """Remove a step; the later ones move up."""
    row = get_step(session, step_id)
    scenario_id, position = row.scenario_id, row.position
    _editable(get(session, scenario_id))
    _refuse_if_enrolled(session, scenario_id)
    if session.execute(select(func.count()).where(ScenarioSend.step_id == step_id)).scalar_one():
        raise ScenarioError(N_("This step has been sent already: it cannot be deleted."))
    before = _step_snapshot(row, _stored_variants(session, step_id))
    count = len(steps_of(session, scenario_id))
    mapping = {old: old - 1 for old in range(position + 1, count + 1)} | {position: None}
    for step in steps_of(session, scenario_id):
        if step.condition_otherwise == ConditionOtherwise.JUMP and step.jump_to_position == position:
            raise ScenarioError(
                N_("Step %(position)s jumps to this step: change that jump first."), position=step.position
            )
    session.execute(delete(StepVariant).where(StepVariant.step_id == step_id))
    session.delete(row)
    session.flush()
    _renumber(session, scenario_id, {old: new for old, new in mapping.items() if new is not None})
    record(
        session,
        actor=actor,
        action="scenario.step_deleted",
        target_type="scenario",
        target_id=scenario_id,
        before=before,
    )


def move_step(session: Session, *, actor: Actor, step_id: int, direction: str) -> None:
    """Swap a step with the one above ("up") or below ("down")."""
    row = get_step(session, step_id)
    scenario_id, position = row.scenario_id, row.position
    _editable(get(session, scenario_id))
    _refuse_if_enrolled(session, scenario_id)
    other = position - 1 if direction == "up" else position + 1
    if direction not in ("up", "down") or not 1 <= other <= len(steps_of(session, scenario_id)):
        raise ScenarioError(N_("That step cannot move further."))
    _renumber(session, scenario_id, {position: other, other: position})
    record(
        session,
        actor=actor,
        action="scenario.step_moved",
        target_type="scenario",
        target_id=scenario_id,
        before={"position": position},
        after={"position": other},
    )
