"""A scenario's statistics, every figure a grouped SQL aggregate: per step and per variant what was decided
(reached, sent, failed, held out, skipped), clicks and unique clickers, blocks within 7 days of the send, and
per step the friends who exited after it (the last step they reached); per
scenario the enrolments by status and exit reason, and the goal rate of the sent group and of each variant
against the control group with its 95 % interval (crm.statistics)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import and_, case, distinct, func, select
from sqlmodel import Session

from crm.broadcasts.stats import BLOCK_WINDOW_DAYS, days_after
from crm.friends.models import Friend, FriendStatus
from crm.scenarios.models import Enrolment, EnrolmentStatus, Scenario, ScenarioSend, ScenarioStep, SendState
from crm.scenarios.models import StepVariant as V
from crm.statistics import Comparison, Proportion, compare
from crm.tracking.models import LinkClick, TrackedLink


@dataclass
class SendFigures:
    """What happened at one step (or one variant of it)."""

    reached: int = 0  # sends written: every state
    queued: int = 0
    sent: int = 0
    failed: int = 0
    held_out: int = 0
    skipped: int = 0
    clicks: int = 0
    unique_clickers: int = 0
    blocks_7d: int = 0

    def add_state(self, state: str, count: int) -> None:
        self.reached += count
        if state in (SendState.QUEUED, SendState.SENT, SendState.FAILED, SendState.HELD_OUT, SendState.SKIPPED):
            setattr(self, str(state), getattr(self, str(state)) + count)


@dataclass
class VariantFigures(SendFigures):
    variant_id: int = 0
    label: str = "A"
    weight: int = 1
    template_id: int | None = None
    goal: Comparison | None = None  # an A/B step's variant: its friends against the control group


@dataclass
class StepFigures(SendFigures):
    step_id: int = 0
    position: int = 0
    exits_after: int = 0  # exited enrolments whose last step reached was this one
    variants: list[VariantFigures] = field(default_factory=list)


@dataclass
class ScenarioFigures:
    """One scenario's figures."""

    scenario_id: int
    active: int = 0
    completed: int = 0
    exited: int = 0
    exit_reasons: list[tuple[str, int]] = field(default_factory=list)  # biggest first
    steps: list[StepFigures] = field(default_factory=list)
    goal: Comparison | None = None  # None: the scenario has no goal

    @property
    def enrolled(self) -> int:
        return self.active + self.completed + self.exited


def enrolment_counts(session: Session, scenario_ids: list[int]) -> dict[int, dict[str, int]]:
    """Active / completed / exited enrolments of each scenario (one grouped query for the list)."""
    counts: dict[int, dict[str, int]] = {scenario_id: {} for scenario_id in scenario_ids}
    if scenario_ids:
        query = (
            select(Enrolment.scenario_id, Enrolment.status, func.count())
            .where(Enrolment.scenario_id.in_(scenario_ids))
            .group_by(Enrolment.scenario_id, Enrolment.status)
        )
        for scenario_id, status, count in session.execute(query):
            counts[scenario_id][status] = count
    return counts


def _exit_reasons(session: Session, scenario_id: int) -> list[tuple[str, int]]:
    reason = func.coalesce(Enrolment.exit_reason, "")
    query = (
        select(reason, func.count())
        .where(Enrolment.scenario_id == scenario_id, Enrolment.status == EnrolmentStatus.EXITED)
        .group_by(reason)
        .order_by(func.count().desc(), reason)
    )
    return [(reason, count) for reason, count in session.execute(query)]


def _step_ids(scenario_id: int):
    """The scenario's step ids as a subquery: sends are read through their (step_id, state) index."""
    return select(ScenarioStep.id).where(ScenarioStep.scenario_id == scenario_id).scalar_subquery()


def _tested_variant_ids(scenario_id: int):
    """The variants of the scenario's A/B steps (steps with two or more variants), as a subquery."""
    tested = select(V.step_id).group_by(V.step_id).having(func.count() > 1).where(V.step_id.in_(_step_ids(scenario_id)))
    return select(V.id).where(V.step_id.in_(tested)).scalar_subquery()


def _state_counts(session: Session, scenario_id: int):
    query = (
        select(ScenarioSend.step_id, ScenarioSend.variant_id, ScenarioSend.state, func.count())
        .where(ScenarioSend.step_id.in_(_step_ids(scenario_id)))
        .group_by(ScenarioSend.step_id, ScenarioSend.variant_id, ScenarioSend.state)
    )
    return session.execute(query).all()


def _clicks(session: Session, scenario_id: int, by):
    """(key, clicks, unique clickers) grouped by `by` (the variant's id or its step's id)."""
    query = (
        select(by, func.count(), func.count(distinct(LinkClick.friend_id)))
        .select_from(LinkClick)
        .join(TrackedLink, TrackedLink.id == LinkClick.link_id)
        .join(V, V.id == TrackedLink.scenario_variant_id)
        .join(ScenarioStep, ScenarioStep.id == V.step_id)
        .where(ScenarioStep.scenario_id == scenario_id)
        .group_by(by)
    )
    return session.execute(query).all()


def _blocks(session: Session, scenario_id: int):
    """(step id, variant id, friends) who blocked within 7 days after that step was sent to them."""
    query = (
        select(ScenarioSend.step_id, ScenarioSend.variant_id, func.count(distinct(ScenarioSend.friend_id)))
        .join(Friend, Friend.id == ScenarioSend.friend_id)
        .where(
            ScenarioSend.step_id.in_(_step_ids(scenario_id)),
            ScenarioSend.state == SendState.SENT,
            ScenarioSend.sent_at.is_not(None),
            Friend.status == FriendStatus.BLOCKED,
            Friend.blocked_at.is_not(None),
            days_after(session, Friend.blocked_at, ScenarioSend.sent_at, BLOCK_WINDOW_DAYS),
        )
        .group_by(ScenarioSend.step_id, ScenarioSend.variant_id)
    )
    return session.execute(query).all()


def _exits_after(session: Session, scenario_id: int) -> list[tuple[int, int]]:
    """(position of the last step a friend got, exited enrolments) for exits after at least one step."""
    last = (
        select(func.max(ScenarioStep.position).label("position"))
        .select_from(Enrolment)
        .join(ScenarioSend, ScenarioSend.enrolment_id == Enrolment.id)
        .join(ScenarioStep, ScenarioStep.id == ScenarioSend.step_id)
        .where(Enrolment.scenario_id == scenario_id, Enrolment.status == EnrolmentStatus.EXITED)
        .group_by(Enrolment.id)
        .subquery()
    )
    return session.execute(select(last.c.position, func.count()).group_by(last.c.position)).all()


def _goal_reached(session: Session, scenario: Scenario):
    """SQL: 1 when the enrolment reached the goal within the scenario's goal days, else 0."""
    within = days_after(session, Enrolment.goal_reached_at, Enrolment.enrolled_at, scenario.goal_days)
    return case((and_(Enrolment.goal_reached_at.is_not(None), within), 1), else_=0)


def _goal(session: Session, scenario: Scenario) -> tuple[Comparison, dict[int, Proportion]] | None:
    """Sent group (every enrolment not held out: assigned to receive) and each variant against the control."""
    if not scenario.goal_tree:
        return None
    reached = _goal_reached(session, scenario)
    by_group = select(Enrolment.held_out, func.count(), func.coalesce(func.sum(reached), 0)).where(
        Enrolment.scenario_id == scenario.id
    )
    groups = {
        held_out: (count, hits) for held_out, count, hits in session.execute(by_group.group_by(Enrolment.held_out))
    }
    treated, control = groups.get(False, (0, 0)), groups.get(True, (0, 0))
    by_variant = (
        # One send per enrolment and step (a unique key), and a variant belongs to one step: no DISTINCT needed.
        select(ScenarioSend.variant_id, func.count(), func.coalesce(func.sum(reached), 0))
        .join(Enrolment, Enrolment.id == ScenarioSend.enrolment_id)
        .where(
            ScenarioSend.variant_id.in_(_tested_variant_ids(scenario.id)),
            Enrolment.held_out.is_(False),
        )
        .group_by(ScenarioSend.variant_id)
    )
    variants = {variant_id: Proportion(hits, count) for variant_id, count, hits in session.execute(by_variant)}
    return compare(treated[1], treated[0], control[1], control[0]), variants


def _step_figures(session: Session, scenario_id: int) -> list[StepFigures]:
    steps = {
        step.id: StepFigures(step_id=step.id, position=step.position)
        for step in session.execute(
            select(ScenarioStep).where(ScenarioStep.scenario_id == scenario_id).order_by(ScenarioStep.position)
        ).scalars()
    }
    variants: dict[int, VariantFigures] = {}
    for variant in session.execute(select(V).where(V.step_id.in_(list(steps))).order_by(V.label)).scalars():
        figures = VariantFigures(
            variant_id=variant.id, label=variant.label, weight=variant.weight, template_id=variant.template_id
        )
        variants[variant.id] = figures
        steps[variant.step_id].variants.append(figures)
    for step_id, variant_id, state, count in _state_counts(session, scenario_id):
        for figures in (steps.get(step_id), variants.get(variant_id)):
            if figures is not None:
                figures.add_state(state, count)
    for by, found in ((V.id, variants), (V.step_id, steps)):
        for key, clicks, unique in _clicks(session, scenario_id, by):
            found[key].clicks, found[key].unique_clickers = clicks, unique
    for step_id, variant_id, blocks in _blocks(session, scenario_id):
        for figures in (steps.get(step_id), variants.get(variant_id)):
            if figures is not None:
                figures.blocks_7d += blocks
    by_position = {figures.position: figures for figures in steps.values()}
    for position, exits in _exits_after(session, scenario_id):
        if position in by_position:
            by_position[position].exits_after = exits
    return list(steps.values())


def statistics(session: Session, scenario: Scenario) -> ScenarioFigures:
    """Every figure of one scenario."""
    counts = enrolment_counts(session, [scenario.id])[scenario.id]
    figures = ScenarioFigures(
        scenario_id=scenario.id,
        active=counts.get(EnrolmentStatus.ACTIVE, 0),
        completed=counts.get(EnrolmentStatus.COMPLETED, 0),
        exited=counts.get(EnrolmentStatus.EXITED, 0),
        exit_reasons=_exit_reasons(session, scenario.id),
        steps=_step_figures(session, scenario.id),
    )
    goal = _goal(session, scenario)
    if goal is not None:
        figures.goal, by_variant = goal
        control = figures.goal.control
        for step in (step for step in figures.steps if len(step.variants) > 1):
            for variant in step.variants:
                variant.goal = Comparison(by_variant.get(variant.variant_id, Proportion(0, 0)), control)
    return figures
