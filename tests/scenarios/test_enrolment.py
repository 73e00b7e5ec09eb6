"""Enrolling friends one by one under the scenario's rules, and removing them."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlmodel import Session

from crm.db import get_engine
from crm.friends.models import FriendStatus
from crm.scenarios import enrolment as service
from crm.scenarios.events import on_scenario_event
from crm.scenarios.models import EnrolmentStatus, ScenarioStatus, SendState
from crm.staff.audit import Actor
from tests.conftest import TEST_DB
from tests.factories import make_field, make_friend, make_scenario, set_field_value
from tests.scenarios.helpers import NOW, enrolments, run, sends

ONE_STEP = [{"delay_minutes": 60}]


def enrol(app, scenario_id, friend_id, key="t:1", now=NOW, **kwargs):
    return run(
        app,
        service.enrol,
        scenario_id=scenario_id,
        friend_id=friend_id,
        trigger_key=key,
        now=now,
        **kwargs,
    )


def test_enrols_with_the_first_step_due(app):
    friend = make_friend(app)
    scenario = make_scenario(app, steps=[{"delay_minutes": 90}, {"delay_minutes": 60, "elapsed_from": "previous"}])
    assert enrol(app, scenario, friend, reply_token="rt", reply_expires_at=NOW + timedelta(seconds=50))
    (row,) = enrolments(app)
    assert (row.status, row.next_position, row.next_due_at) == (EnrolmentStatus.ACTIVE, 1, NOW + timedelta(minutes=90))
    assert (row.reply_token, row.reply_expires_at, row.enrolled_at) == ("rt", NOW + timedelta(seconds=50), NOW)


@pytest.mark.parametrize("status", [ScenarioStatus.DRAFT, ScenarioStatus.PAUSED, ScenarioStatus.ARCHIVED])
def test_only_active_scenarios_enrol(app, status):
    scenario = make_scenario(app, steps=ONE_STEP, status=status)
    assert enrol(app, scenario, make_friend(app)) is None
    assert enrolments(app) == []


@pytest.mark.parametrize("status", [FriendStatus.BLOCKED, FriendStatus.ERASED])
def test_only_following_friends_enrol(app, status):
    scenario = make_scenario(app, steps=ONE_STEP)
    assert enrol(app, scenario, make_friend(app, status=status)) is None


def test_the_same_trigger_twice_enrols_once(app):
    scenario = make_scenario(app, steps=ONE_STEP, enrolment_rule="restart")
    friend = make_friend(app)
    assert enrol(app, scenario, friend, key="follow:A")
    assert enrol(app, scenario, friend, key="follow:A") is None
    assert len(enrolments(app)) == 1


def finish_first(app):
    with Session(get_engine(app)) as session:
        row = session.get(service.Enrolment, enrolments(app)[0].id)
        service.finish(session, row, now=NOW)
        session.commit()


@pytest.mark.parametrize(
    ("rule", "while_running", "after_end"),
    [("once", False, False), ("after_completion", False, True), ("restart", True, True)],
)
def test_enrolment_rules(app, rule, while_running, after_end):
    scenario = make_scenario(app, steps=ONE_STEP, enrolment_rule=rule)
    friend = make_friend(app)
    assert enrol(app, scenario, friend, key="k1")
    assert bool(enrol(app, scenario, friend, key="k2")) is while_running
    if not while_running:
        finish_first(app)
    rows = enrolments(app)
    if rule == "restart":
        assert [(r.status, r.exit_reason) for r in rows] == [("exited", "restarted"), ("active", None)]
    finish_active(app)
    assert bool(enrol(app, scenario, friend, key="k3")) is after_end


def finish_active(app):
    with Session(get_engine(app)) as session:
        for row in enrolments(app, status="active"):
            service.finish(session, session.get(service.Enrolment, row.id), now=NOW)
        session.commit()


def test_a_higher_priority_exclusive_scenario_exits_lower_ones_and_blocks_them(app):
    low = make_scenario(app, steps=ONE_STEP, exclusive=True, priority=1, enrolment_rule="after_completion")
    high = make_scenario(app, steps=ONE_STEP, exclusive=True, priority=5)
    other = make_scenario(app, steps=ONE_STEP)  # not exclusive: runs alongside
    friend = make_friend(app)
    assert enrol(app, low, friend) and enrol(app, other, friend)
    assert enrol(app, high, friend)
    by_scenario = {row.scenario_id: (row.status, row.exit_reason) for row in enrolments(app)}
    assert by_scenario == {low: ("exited", "higher_priority"), high: ("active", None), other: ("active", None)}
    assert enrol(app, low, friend, key="t:2") is None  # a lower one does not start while the higher one runs


def test_equal_priority_exclusive_does_not_start(app):
    first = make_scenario(app, steps=ONE_STEP, exclusive=True, priority=3)
    second = make_scenario(app, steps=ONE_STEP, exclusive=True, priority=3)
    friend = make_friend(app)
    assert enrol(app, first, friend)
    assert enrol(app, second, friend) is None


def test_control_group_is_drawn_at_enrolment(app):
    everyone = make_scenario(app, steps=ONE_STEP, control_percent=100)
    nobody = make_scenario(app, steps=ONE_STEP, control_percent=0)
    friend = make_friend(app)
    enrol(app, everyone, friend)
    enrol(app, nobody, friend)
    assert {row.scenario_id: row.held_out for row in enrolments(app)} == {everyone: True, nobody: False}


def test_control_group_proportion():
    draws = [service.held_out(20) for _ in range(10_000)]
    assert 1800 <= sum(draws) <= 2200  # 20 % ± 5 standard deviations of 40


def test_a_first_step_without_a_date_is_skipped_and_the_next_one_planned(app):
    field = make_field(app, "booking", field_type="date")
    steps = [
        {"timing_kind": "field_relative", "field_id": field, "day_offset": -1, "at_minute": 1080},
        {"delay_minutes": 30},
    ]
    scenario = make_scenario(app, steps=steps)
    friend = make_friend(app)
    enrol(app, scenario, friend)
    (row,) = enrolments(app)
    assert (row.next_position, row.next_due_at) == (2, NOW + timedelta(minutes=30))
    assert [(s.state, s.error) for s in sends(app)] == [(SendState.SKIPPED, "no_date")]
    other = make_friend(app, n=2)
    set_field_value(app, friend_id=other, field_id=field, value="2026-05-20")
    enrol(app, scenario, other)
    assert enrolments(app, friend_id=other)[0].next_due_at.isoformat() == "2026-05-19T09:00:00+00:00"


def test_a_scenario_without_steps_completes_at_once(app):
    scenario = make_scenario(app, steps=[])
    enrol(app, scenario, make_friend(app))
    assert [(r.status, r.finished_at) for r in enrolments(app)] == [("completed", NOW)]


def test_remove_and_remove_friend_exit_with_the_reason_and_audit(app):
    scenario = make_scenario(app, steps=ONE_STEP)
    first, second = make_friend(app), make_friend(app, n=2)
    enrolment_id = enrol(app, scenario, first)
    enrol(app, scenario, second)
    actor = Actor(label="staff:a@example.com")
    assert run(app, service.remove, enrolment_id=enrolment_id, reason="staff", actor=actor, now=NOW)
    assert not run(app, service.remove, enrolment_id=enrolment_id, reason="staff", actor=actor, now=NOW)
    removed = run(
        app, service.remove_friend, scenario_id=scenario, friend_id=second, reason="staff", actor=None, now=NOW
    )
    assert removed is True
    assert [(r.status, r.exit_reason, r.next_due_at) for r in enrolments(app)] == [("exited", "staff", None)] * 2


def test_events_are_told_in_the_transaction(app):
    seen = []
    on_scenario_event(lambda session, kind, enrolment, reason: seen.append((kind, enrolment.friend_id, reason)))
    scenario = make_scenario(app, steps=ONE_STEP, enrolment_rule="restart")
    friend = make_friend(app)
    enrol(app, scenario, friend, key="a")
    enrol(app, scenario, friend, key="b")
    assert seen[-3:] == [("enrolled", friend, None), ("exited", friend, "restarted"), ("enrolled", friend, None)]


@pytest.mark.skipif(TEST_DB != "postgresql", reason="two sessions writing at once need PostgreSQL")
def test_simultaneous_triggers_give_one_enrolment(app):
    scenario = make_scenario(app, steps=ONE_STEP, enrolment_rule="after_completion")
    friend = make_friend(app)
    engine = get_engine(app)
    first = Session(engine)
    assert service.enrol(first, scenario_id=scenario, friend_id=friend, trigger_key="a", now=NOW)
    outcome = {}

    def second():
        with Session(engine) as session:
            outcome["result"] = service.enrol(session, scenario_id=scenario, friend_id=friend, trigger_key="b", now=NOW)
            session.commit()

    thread = threading.Thread(target=second)
    thread.start()
    thread.join(0.5)
    assert thread.is_alive()  # waits on the unique index for the first transaction
    first.commit()
    first.close()
    thread.join(10)
    assert outcome == {"result": None}
    assert len(enrolments(app)) == 1


def test_the_send_window_delays_the_first_step_to_its_opening(app):
    scenario = make_scenario(app, steps=[{"delay_minutes": 0}], window_start_minute=540, window_end_minute=1260)
    late = NOW + timedelta(hours=13, minutes=30)  # 23:30 in Tokyo
    enrol(app, scenario, make_friend(app), now=late)
    assert enrolments(app)[0].next_due_at.isoformat() == "2026-05-11T00:00:00+00:00"  # 9:00 the next morning
