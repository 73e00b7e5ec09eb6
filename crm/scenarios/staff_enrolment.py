"""Enrolling and removing friends by hand (console, API): thin calls into the runtime's enrolment service, so
the console and the API never decide enrolment rules themselves."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session

from crm.friends.models import Friend, FriendStatus
from crm.scenarios import enrolment
from crm.scenarios.models import Enrolment, EnrolmentStatus, ExitReason, Scenario, ScenarioStatus
from crm.staff.audit import Actor


def enrol_segment(session: Session, *, scenario_id: int, tree: str, now: datetime, trigger_key: str) -> int:
    """Enrol every friend of a segment tree; how many were enrolled."""
    enrolled = enrolment.enrol_segment(session, scenario_id=scenario_id, tree=tree, now=now, trigger_key=trigger_key)
    return enrolled if isinstance(enrolled, int) else len(enrolled or [])


def enrol_friend(
    session: Session, *, scenario_id: int, friend_id: int, trigger_key: str, now: datetime, actor: Actor
) -> Enrolment | None:
    """Enrol one friend (None: the scenario's rules refused)."""
    return enrolment.enrol(
        session, scenario_id=scenario_id, friend_id=friend_id, trigger_key=trigger_key, now=now, actor=actor
    )


def stop_friend(session: Session, *, scenario_id: int, friend_id: int, actor: Actor, now: datetime):
    """End the friend's active enrolment (reason: staff)."""
    return enrolment.remove_friend(
        session, scenario_id=scenario_id, friend_id=friend_id, reason=ExitReason.STAFF, actor=actor, now=now
    )


def refusal_reason(session: Session, *, scenario: Scenario, friend: Friend) -> str:
    """Why the runtime did not enrol a friend, as a stable word for the API and the console."""
    if scenario.status != ScenarioStatus.ACTIVE:
        return "scenario_not_active"
    if friend.status != FriendStatus.FOLLOWING:
        return "friend_not_following"
    earlier = select(Enrolment.status).where(Enrolment.scenario_id == scenario.id, Enrolment.friend_id == friend.id)
    statuses = set(session.execute(earlier).scalars())
    if EnrolmentStatus.ACTIVE in statuses:
        return "already_enrolled"
    if statuses:
        return "enrolment_rule"
    return "higher_priority_running" if scenario.exclusive else "refused"
