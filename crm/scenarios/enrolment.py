"""Enrolling friends in scenarios, one by one (triggers, the API, staff, actions) under the scenario's rules, and
removing them; and the bulk enrolment of every friend a segment selects (`enrol_segment`, set-based).

Rules, in order: only ACTIVE scenarios enrol, only following friends; a trigger key already seen for this scenario
and friend enrols nobody (a webhook redelivered, an action run again); `once` never enrols a friend twice,
`after_completion` waits for the running enrolment to end, `restart` exits it ("restarted") and starts over; an
exclusive scenario does not start while an exclusive one of equal or higher priority runs, and exits lower ones
("higher_priority"); the control group is drawn at enrolment. The partial unique index (one active enrolment per
scenario and friend) with INSERT … ON CONFLICT DO NOTHING makes simultaneous triggers give one enrolment.
"""

from __future__ import annotations

import functools
import secrets
from datetime import datetime

from sqlalchemy import bindparam, exists, func, text
from sqlalchemy.orm import make_transient_to_detached
from sqlmodel import Session, select

from crm.friends.models import Friend, FriendStatus
from crm.scenarios import bulk, plan
from crm.scenarios.events import ScenarioEvent, emit
from crm.scenarios.exits import exit_all, finish
from crm.scenarios.models import Enrolment, EnrolmentRule, EnrolmentStatus, ExitReason, Scenario, ScenarioStatus
from crm.sql import dialect_insert
from crm.staff.audit import Actor, record

_random = secrets.SystemRandom()
ACTIVE_ONLY = text("status = 'active'")


def held_out(control_percent: int) -> bool:
    """Whether a new enrolment goes to the control group."""
    return control_percent > 0 and _random.randrange(100) < control_percent


def enrol(
    session: Session,
    *,
    scenario_id: int,
    friend_id: int,
    trigger_key: str,
    now: datetime,
    reply_token: str | None = None,
    reply_expires_at: datetime | None = None,
    actor: Actor | None = None,
) -> Enrolment | None:
    """Enrol a friend under the scenario's rules (see the module docstring); None when the rules refuse."""
    scenario = session.get(Scenario, scenario_id)
    if scenario is None or scenario.status != ScenarioStatus.ACTIVE:
        return None
    standing = _standing(session, scenario, friend_id, trigger_key)
    if standing is None or standing.status != FriendStatus.FOLLOWING or standing.seen:
        return None
    if not _rule_allows(session, scenario, standing.latest_id, now) or not _priority_allows(
        session, scenario, friend_id, now
    ):
        return None
    enrolment = _insert(
        session,
        scenario_id=scenario_id,
        friend_id=friend_id,
        status=EnrolmentStatus.ACTIVE,
        held_out=held_out(scenario.control_percent),
        trigger_key=trigger_key[:120],
        next_position=plan.NOT_PLANNED,
        reply_token=reply_token,
        reply_expires_at=reply_expires_at,
        enrolled_at=now,
        silent_steps=0,
    )
    if enrolment is None:
        return None  # a simultaneous trigger enrolled the friend first
    steps = plan.steps_of(session, scenario_id)
    values = plan.field_values(session, steps, [friend_id])
    emit(session, ScenarioEvent.ENROLLED, enrolment, None)
    plan.plan_next(
        session, scenario=scenario, steps=steps, enrolment=enrolment, after_position=0, values=values, now=now
    )
    if actor is not None:
        _audit(session, actor, "scenario.enrolled", enrolment)
    return enrolment


@functools.cache
def _insert_statement(dialect: str, columns: tuple[str, ...]):
    """The enrolment insert returning the whole row, built once per dialect and set of columns."""
    table = Enrolment.__table__
    return (
        dialect_insert(dialect, table)
        .values({name: bindparam(name, type_=table.c[name].type) for name in columns})
        .on_conflict_do_nothing(index_elements=["scenario_id", "friend_id"], index_where=ACTIVE_ONLY)
        .returning(*table.c)
    )


def _insert(session: Session, **values) -> Enrolment | None:
    """Insert the enrolment and return it as a persistent object built from the row its INSERT returned (no
    second SELECT, no ORM insert machinery); None when the friend's active enrolment exists already."""
    statement = _insert_statement(session.get_bind().dialect.name, tuple(values))
    row = session.connection().execute(statement, values).first()
    if row is None:
        return None
    enrolment = Enrolment(**row._mapping)
    make_transient_to_detached(enrolment)
    session.add(enrolment)
    return enrolment


def _standing(session: Session, scenario: Scenario, friend_id: int, trigger_key: str):
    """In one statement: the friend's status (the friend locked for an exclusive scenario), whether this trigger
    key enrolled them before, and their latest enrolment's id in this scenario; None if there is no such friend."""
    friend, enrolment = Friend.__table__.c, Enrolment.__table__.c
    of_friend = (enrolment.friend_id == friend.id) & (enrolment.scenario_id == scenario.id)
    query = select(
        friend.status,
        exists().where(of_friend, enrolment.trigger_key == trigger_key).label("seen"),
        select(func.max(enrolment.id)).where(of_friend).scalar_subquery().label("latest_id"),
    ).where(friend.id == friend_id)
    if scenario.exclusive:
        query = query.with_for_update(of=Friend.__table__)
    return session.connection().execute(query).first()


def _rule_allows(session: Session, scenario: Scenario, latest_id: int | None, now: datetime) -> bool:
    """The enrolment rule against the friend's latest enrolment in the scenario; `restart` exits the running one."""
    if latest_id is None:
        return True
    earlier = session.get(Enrolment, latest_id)
    if scenario.enrolment_rule == EnrolmentRule.ONCE:
        return False
    if earlier.status != EnrolmentStatus.ACTIVE:
        return True
    if scenario.enrolment_rule == EnrolmentRule.RESTART:
        finish(session, earlier, now=now, reason=ExitReason.RESTARTED)
        return True
    return False


def _priority_allows(session: Session, scenario: Scenario, friend_id: int, now: datetime) -> bool:
    """An exclusive scenario starts only above every running exclusive one, and exits those."""
    if not scenario.exclusive:
        return True
    running = session.exec(
        select(Enrolment, Scenario.priority)
        .join(Scenario, Scenario.id == Enrolment.scenario_id)
        .where(Enrolment.friend_id == friend_id, Enrolment.status == EnrolmentStatus.ACTIVE)
        .where(Scenario.exclusive.is_(True), Scenario.id != scenario.id)
    ).all()
    if any(priority >= scenario.priority for _enrolment, priority in running):
        return False
    exit_all(session, [enrolment for enrolment, _ in running], reason=ExitReason.HIGHER_PRIORITY, now=now)
    return True


def enrol_segment(
    session: Session, *, scenario_id: int, tree: dict | str | None, now: datetime, trigger_key: str, batch: int = 20_000
) -> int:
    """Enrol every following friend the segment tree selects (None: every following friend), set-based: one
    INSERT … SELECT per range of `batch` friend ids. Resumable: a friend already enrolled under this trigger key is
    skipped, so running it again with the same key after an interruption enrols the rest. The same rules apply as
    for one friend, except that a running enrolment is never restarted, and exits for a higher priority and the
    enrolments themselves are told to no listener one by one. Returns how many friends were enrolled."""
    scenario = session.get(Scenario, scenario_id)
    if scenario is None or scenario.status != ScenarioStatus.ACTIVE:
        return 0
    first = bulk.first_due(session, scenario, now=now)
    top = session.exec(select(func.max(Friend.id))).one() or 0
    enrolled = 0
    for low in range(0, top + 1, batch):
        candidates = bulk.candidates(session, scenario, tree, now=now, trigger_key=trigger_key, ids=(low, low + batch))
        if scenario.exclusive:
            bulk.exit_lower_priority(session, scenario, candidates, now=now)
        enrolled += bulk.insert_enrolments(session, scenario, candidates, first, now=now, trigger_key=trigger_key)
    bulk.refresh_statistics(session, enrolled)
    return enrolled


def remove(session: Session, *, enrolment_id: int, reason: str, actor: Actor | None, now: datetime) -> bool:
    """Exit one enrolment (staff, the API, an action); False if it was not active."""
    enrolment = session.get(Enrolment, enrolment_id, with_for_update=True)
    if enrolment is None or enrolment.status != EnrolmentStatus.ACTIVE:
        return False
    finish(session, enrolment, now=now, reason=reason)
    if actor is not None:
        _audit(session, actor, "scenario.removed", enrolment)
    return True


def remove_friend(
    session: Session, *, scenario_id: int, friend_id: int, reason: str, actor: Actor | None, now: datetime
) -> bool:
    """Exit the friend's active enrolment in this scenario; False if there was none."""
    enrolment_id = session.exec(
        select(Enrolment.id).where(
            Enrolment.scenario_id == scenario_id,
            Enrolment.friend_id == friend_id,
            Enrolment.status == EnrolmentStatus.ACTIVE,
        )
    ).first()
    if enrolment_id is None:
        return False
    return remove(session, enrolment_id=enrolment_id, reason=reason, actor=actor, now=now)


def _audit(session: Session, actor: Actor, action: str, enrolment: Enrolment) -> None:
    record(
        session,
        actor=actor,
        action=action,
        target_type="friend",
        target_id=enrolment.friend_id,
        after={
            "scenario_id": enrolment.scenario_id,
            "enrolment_id": enrolment.id,
            "status": enrolment.status,
            "exit_reason": enrolment.exit_reason,
            "held_out": enrolment.held_out,
        },
    )
