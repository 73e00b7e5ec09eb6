"""How enrolments end: completed, or exited with a reason (goal, blocked, no reaction, opted out, staff, a
higher-priority scenario, restarted, erased). Every end is recorded on the enrolment and told to listeners; sends
still queued and not yet taken by delivery are cancelled (SKIPPED), so nothing more goes out after an exit."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, select

from crm.scenarios.events import ScenarioEvent, emit
from crm.scenarios.models import (
    Enrolment,
    EnrolmentStatus,
    ExitReason,
    Scenario,
    ScenarioSend,
    ScenarioStatus,
    SendState,
)
from crm.segments.service import friend_ids as segment_friend_ids

GOAL_BATCH = 1000

IN_CHUNK = 500  # friend ids per IN list (well under SQLite's 32,766 parameters)


def finish(session: Session, enrolment: Enrolment, *, now: datetime, reason: str | None = None) -> None:
    """End an active enrolment: completed (no reason) or exited with `reason`."""
    enrolment.status = EnrolmentStatus.EXITED if reason else EnrolmentStatus.COMPLETED
    enrolment.exit_reason = reason
    enrolment.finished_at = now
    enrolment.next_position = enrolment.next_due_at = None
    session.add(enrolment)
    if reason:
        cancel_queued(session, [enrolment.id], reason=reason)
    emit(session, ScenarioEvent.EXITED if reason else ScenarioEvent.COMPLETED, enrolment, reason)


def cancel_queued(session: Session, enrolment_ids: list[int], *, reason: str) -> int:
    """Sends of these enrolments still waiting for delivery (not on a request yet) will not go out."""
    statement = (
        update(ScenarioSend)
        .where(
            ScenarioSend.enrolment_id.in_(enrolment_ids),
            ScenarioSend.state == SendState.QUEUED,
            ScenarioSend.request_id.is_(None),
        )
        .values(state=SendState.SKIPPED, error=f"exited:{reason}")
    )
    return session.exec(statement).rowcount


def exit_all(session: Session, enrolments: list[Enrolment], *, reason: str, now: datetime) -> int:
    """Exit each of these enrolments still active; return how many."""
    active = [enrolment for enrolment in enrolments if enrolment.status == EnrolmentStatus.ACTIVE]
    for enrolment in active:
        finish(session, enrolment, now=now, reason=reason)
    return len(active)


def active_of_friend(session: Session, friend_id: int, *, lock: bool = False) -> list[Enrolment]:
    """The friend's active enrolments (the friend index finds them)."""
    query = select(Enrolment).where(Enrolment.friend_id == friend_id, Enrolment.status == EnrolmentStatus.ACTIVE)
    return list(session.exec(query.with_for_update() if lock else query).all())


def exit_friend(session: Session, *, friend_id: int, reason: str, now: datetime) -> int:
    """Exit every active enrolment of a friend (blocked, erased); return how many."""
    return exit_all(session, active_of_friend(session, friend_id, lock=True), reason=reason, now=now)


def opt_out(session: Session, *, friend_id: int, text: str, now: datetime) -> int:
    """Exit the friend's active enrolments in scenarios whose opt-out keywords include `text` exactly (after
    trimming); return how many. The keyword's own answer to the friend is not sent here."""
    wanted = (text or "").strip()
    if not wanted:
        return 0
    rows = session.exec(
        select(Enrolment, Scenario.opt_out_keywords)
        .join(Scenario, Scenario.id == Enrolment.scenario_id)
        .where(Enrolment.friend_id == friend_id, Enrolment.status == EnrolmentStatus.ACTIVE)
        .where(Scenario.opt_out_keywords.is_not(None))
    ).all()
    matching = [enrolment for enrolment, keywords in rows if wanted in _keywords(keywords)]
    return exit_all(session, matching, reason=ExitReason.OPTED_OUT, now=now)


def _keywords(text: str | None) -> set[str]:
    return {line.strip() for line in (text or "").splitlines() if line.strip()}


def reset_silence(session: Session, *, friend_id: int) -> int:
    """The friend reacted (message, tap, click): their active enrolments count silent steps from zero again."""
    return reset_silence_of(session, friend_ids=[friend_id])


def reset_silence_of(session: Session, *, friend_ids: Sequence[int]) -> int:
    """reset_silence for several friends at once (a worker's batch of clicks), in chunks of IN_CHUNK ids."""
    reset = 0
    for start in range(0, len(friend_ids), IN_CHUNK):
        statement = (
            update(Enrolment)
            .where(Enrolment.friend_id.in_(friend_ids[start : start + IN_CHUNK]))
            .where(Enrolment.status == EnrolmentStatus.ACTIVE, Enrolment.silent_steps > 0)
            .values(silent_steps=0)
        )
        reset += session.exec(statement).rowcount
    return reset


def check_goals(
    session: Session, *, scenario: Scenario, now: datetime, enrolment_ids: list[int] | None = None, after_id: int = 0
) -> tuple[int, int]:
    """Record the goal for enrolments of `scenario` whose friend now matches its goal tree (one segment query for
    the lot), within goal_days of enrolment; exit the active ones if exit_on_goal. Limited to `enrolment_ids`
    when given, else the next GOAL_BATCH enrolments after `after_id`. Returns (goals recorded, last id seen)."""
    if not scenario.goal_tree:
        return 0, 0
    query = (
        select(Enrolment)
        .where(Enrolment.scenario_id == scenario.id, Enrolment.goal_reached_at.is_(None))
        .where(Enrolment.status.in_((EnrolmentStatus.ACTIVE, EnrolmentStatus.COMPLETED)))
        .where(Enrolment.enrolled_at >= now - timedelta(days=scenario.goal_days))
        .where(Enrolment.friend_id.in_(segment_friend_ids(session, scenario.goal_tree, now=now)))
        .order_by(Enrolment.id)
    )
    if enrolment_ids is not None:
        query = query.where(Enrolment.id.in_(enrolment_ids))
    else:
        query = query.where(Enrolment.id > after_id).limit(GOAL_BATCH)
    reached = list(session.exec(query.with_for_update(skip_locked=True)).all())
    for enrolment in reached:
        enrolment.goal_reached_at = now
        session.add(enrolment)
        emit(session, ScenarioEvent.GOAL_REACHED, enrolment, None)
        if scenario.exit_on_goal and enrolment.status == EnrolmentStatus.ACTIVE:
            finish(session, enrolment, now=now, reason=ExitReason.GOAL)
    return len(reached), reached[-1].id if reached else 0


def goal_scenarios(session: Session) -> list[Scenario]:
    """Active scenarios with a goal: the job checks their enrolments between steps too."""
    query = select(Scenario).where(Scenario.status == ScenarioStatus.ACTIVE, Scenario.goal_tree.is_not(None))
    return list(session.exec(query).all())
