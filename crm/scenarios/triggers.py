"""The scenario side of trigger events: what enrols friends (a follow or unblock, a tag added, a survey answered,
a tracked link clicked), what counts as a reaction (a message, a tap, a click resets the silent steps), what
exits them (a block, an opt-out keyword). Runs in the transaction that recorded the event."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy import Integer, bindparam
from sqlmodel import Session, select

from crm.scenarios.enrolment import enrol
from crm.scenarios.exits import exit_all, exit_friend, opt_out, reset_silence, reset_silence_of
from crm.scenarios.models import Enrolment, EnrolmentStatus, ExitReason, Scenario, ScenarioStatus, TriggerKind
from crm.sending.queue import REPLY_TOKEN_LIFETIME
from crm.timeutil import utcnow
from crm.triggers import Trigger, TriggerEvent

REACTIONS = (TriggerEvent.MESSAGE_RECEIVED, TriggerEvent.POSTBACK_RECEIVED, TriggerEvent.LINK_CLICKED)
WelcomeCheck = Callable[[Session, Trigger], bool]
_welcome_checks: list[WelcomeCheck] = []


def skip_welcome_when(check: WelcomeCheck) -> WelcomeCheck:
    """Let a feature keep a follow out of the friend-added scenarios: check(session, trigger) -> True skips them
    (an inflow route that runs its own welcome instead). Registering it again has no effect."""
    if check not in _welcome_checks:
        _welcome_checks.append(check)
    return check


def _welcome_skipped(session: Session, trigger: Trigger) -> bool:
    return any(check(session, trigger) for check in tuple(_welcome_checks))


@functools.cache
def _scenarios_query(kind: TriggerKind, unblocked: bool):
    """scenarios_for's query, built once per kind (parameter: ref_id)."""
    query = select(Scenario).where(Scenario.status == ScenarioStatus.ACTIVE, Scenario.trigger_kind == kind)
    ref_id = bindparam("ref_id", type_=Integer())
    if kind == TriggerKind.LINK_CLICKED:
        query = query.where((Scenario.trigger_ref_id == ref_id) | Scenario.trigger_ref_id.is_(None))
    elif kind in (TriggerKind.TAG_ADDED, TriggerKind.SURVEY_ANSWERED):
        query = query.where(Scenario.trigger_ref_id == ref_id)
    if unblocked:
        query = query.where(Scenario.include_unblocked.is_(True))
    return query.order_by(Scenario.priority.desc(), Scenario.id)


def scenarios_for(session: Session, kind: TriggerKind, *, ref_id: int | None = None, unblocked: bool = False):
    """Active scenarios a trigger of this kind enrols in, highest priority first."""
    return list(session.exec(_scenarios_query(kind, unblocked), params={"ref_id": ref_id}))


def enrol_all(session: Session, scenarios: list[Scenario], trigger: Trigger) -> int:
    """Enrol the friend in each scenario; the event's reply token goes to the first one enrolled only (a token
    is good for one reply)."""
    token = trigger.reply_token
    enrolled = 0
    for scenario in scenarios:
        enrolment = enrol(
            session,
            scenario_id=scenario.id,
            friend_id=trigger.friend_id,
            trigger_key=trigger.key,
            now=trigger.occurred_at,
            reply_token=token,
            reply_expires_at=trigger.occurred_at + REPLY_TOKEN_LIFETIME if token else None,
        )
        if enrolment is not None:
            enrolled += 1
            token = None
    return enrolled


ENROLLING = {
    TriggerEvent.FRIEND_ADDED: TriggerKind.FRIEND_ADDED,
    TriggerEvent.FRIEND_UNBLOCKED: TriggerKind.FRIEND_ADDED,
    TriggerEvent.SURVEY_ANSWERED: TriggerKind.SURVEY_ANSWERED,
    TriggerEvent.LINK_CLICKED: TriggerKind.LINK_CLICKED,
}


def on_trigger(session: Session, trigger: Trigger) -> None:
    """crm.triggers subscriber."""
    if trigger.event == TriggerEvent.FRIEND_BLOCKED:
        exit_friend(session, friend_id=trigger.friend_id, reason=ExitReason.BLOCKED, now=trigger.occurred_at)
        return
    if trigger.event in REACTIONS:
        reset_silence(session, friend_id=trigger.friend_id)
    if trigger.event == TriggerEvent.MESSAGE_RECEIVED and trigger.text:
        opt_out(session, friend_id=trigger.friend_id, text=trigger.text, now=trigger.occurred_at)
    kind = ENROLLING.get(trigger.event)
    if kind == TriggerKind.FRIEND_ADDED and _welcome_skipped(session, trigger):
        return
    if kind is not None:
        unblocked = trigger.event == TriggerEvent.FRIEND_UNBLOCKED
        enrol_all(session, scenarios_for(session, kind, ref_id=trigger.ref_id, unblocked=unblocked), trigger)


def on_triggers(session: Session, triggers: Sequence[Trigger]) -> None:
    """crm.triggers batch subscriber: a batch of link clicks (the worker's click reader) resets the clickers'
    silent steps in one statement per chunk and looks up each link's scenarios once, with the same effect as
    on_trigger per click (a click's new enrolment starts silent-free, so resetting first changes nothing).
    Other batches go one by one."""
    if any(trigger.event != TriggerEvent.LINK_CLICKED for trigger in triggers):
        for trigger in triggers:
            on_trigger(session, trigger)
        return
    reset_silence_of(session, friend_ids=sorted({trigger.friend_id for trigger in triggers}))
    scenarios_by_link: dict[int | None, list[Scenario]] = {}
    for trigger in triggers:
        if trigger.ref_id not in scenarios_by_link:
            scenarios_by_link[trigger.ref_id] = scenarios_for(session, TriggerKind.LINK_CLICKED, ref_id=trigger.ref_id)
        if scenarios_by_link[trigger.ref_id]:
            enrol_all(session, scenarios_by_link[trigger.ref_id], trigger)


def withdraw_welcome(session: Session, *, friend_id: int, since: datetime, now: datetime) -> int:
    """Exit the friend's enrolments in friend-added scenarios that began at `since` or later (their follow turned
    out to come through an inflow route that runs no such scenarios: LINE often sends the follow before the
    login's callback); sends not yet handed to delivery are cancelled. Returns how many were exited."""
    query = (
        select(Enrolment)
        .join(Scenario, Scenario.id == Enrolment.scenario_id)
        .where(
            Enrolment.friend_id == friend_id,
            Enrolment.status == EnrolmentStatus.ACTIVE,
            Enrolment.enrolled_at >= since,
            Scenario.trigger_kind == TriggerKind.FRIEND_ADDED,
        )
    )
    return exit_all(session, list(session.exec(query)), reason=ExitReason.INFLOW_ROUTE, now=now)


def on_tags_changed(session: Session, *, tag_id: int, friend_ids: list[int], added: bool, now: datetime | None = None):
    """crm.tags listener: a tag added enrols the friends in the scenarios it triggers (each addition is its own
    occurrence: the key carries the time)."""
    if not added or not friend_ids:
        return
    scenarios = scenarios_for(session, TriggerKind.TAG_ADDED, ref_id=tag_id)
    if not scenarios:
        return
    now = now or utcnow()
    for friend_id in friend_ids:
        trigger = Trigger(
            event=TriggerEvent.TAG_ADDED,
            friend_id=friend_id,
            key=f"tag:{tag_id}:{friend_id}:{now.isoformat()}",
            occurred_at=now,
            ref_id=tag_id,
        )
        enrol_all(session, scenarios, trigger)
