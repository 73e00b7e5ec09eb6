"""Deciding due steps: sends recorded once, conditions and jumps, variants, control group, goals and exits."""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import event, update
from sqlmodel import Session, select

from crm.db import get_engine, session_scope
from crm.fields.models import FieldValue
from crm.scenarios import enrolment as enrolment_service
from crm.scenarios.jobs import advance_tick, goals_tick
from crm.scenarios.jobs import scenarios as scenarios_job
from crm.scenarios.models import Enrolment, Scenario, ScenarioStep, SendState, StepVariant
from crm.scenarios.progress import advance_due, due_query, pick_variant
from crm.tags.service import add_tag
from tests.conftest import TEST_DB
from tests.factories import SYSTEM, make_field, make_friend, make_scenario, make_tag, make_template, set_field_value
from tests.scenarios.helpers import NOW, enrolments, run, sends

HOUR = timedelta(hours=1)


def enrol(app, scenario, friend, key="t:1", now=NOW):
    return run(app, enrolment_service.enrol, scenario_id=scenario, friend_id=friend, trigger_key=key, now=now)


def advance(app, now):
    return run(app, advance_due, now=now)


def three_steps(app, **values):
    template = make_template(app)
    steps = [
        {"delay_minutes": 0, "template_id": template},
        {"delay_minutes": 60, "elapsed_from": "previous", "template_id": template},
        {"timing_kind": "day_at", "day_offset": 1, "at_minute": 600, "template_id": template},
    ]
    return make_scenario(app, steps=steps, **values)


def test_each_step_is_decided_once_as_time_passes(app):
    scenario, friend = three_steps(app), make_friend(app)
    enrol(app, scenario, friend)
    assert advance(app, NOW) == 1
    assert [(s.state, s.due_at) for s in sends(app)] == [(SendState.QUEUED, NOW)]
    assert advance(app, NOW + HOUR - timedelta(seconds=1)) == 0
    assert advance(app, NOW + HOUR) == 1
    assert advance(app, NOW + HOUR) == 0
    (row,) = enrolments(app)
    assert (row.next_position, row.next_due_at, row.silent_steps) == (3, NOW + timedelta(days=1), 2)
    assert advance(app, NOW + timedelta(days=2)) == 1
    (row,) = enrolments(app)
    assert (row.status, row.next_due_at, row.next_position) == ("completed", None, None)
    assert [s.state for s in sends(app)] == [SendState.QUEUED] * 3
    assert all(s.variant_id is not None and s.friend_id == friend for s in sends(app))


def test_a_paused_scenario_waits_and_resume_continues(app, session):
    scenario, friend = three_steps(app), make_friend(app)
    enrol(app, scenario, friend)
    with session_scope(get_engine(app)) as s:
        s.exec(update(Scenario).values(status="paused"))
    assert advance(app, NOW + HOUR) == 0
    with session_scope(get_engine(app)) as s:
        s.exec(update(Scenario).values(status="active"))
    assert advance(app, NOW + HOUR) == 1


def test_the_control_group_never_gets_a_queued_send(app):
    scenario = three_steps(app, control_percent=100)
    friend = make_friend(app)
    enrol(app, scenario, friend)
    for hours in (0, 1, 48):
        advance(app, NOW + hours * HOUR)
    assert [s.state for s in sends(app)] == [SendState.HELD_OUT] * 3
    assert enrolments(app)[0].status == "completed"


def test_condition_false_skips_or_jumps_forward(app):
    template, tag = make_template(app), make_tag(app)
    condition = json.dumps({"type": "tag", "tag_id": tag})
    steps = [
        {"template_id": template, "condition_tree": condition, "condition_otherwise": "jump", "jump_to_position": 3},
        {"template_id": template},
        {"template_id": template, "condition_tree": condition},
        {"template_id": template, "delay_minutes": 10},
    ]
    scenario = make_scenario(app, steps=steps)
    tagged, untagged = make_friend(app), make_friend(app, n=2)
    with session_scope(get_engine(app)) as s:
        add_tag(s, friend_id=tagged, tag_id=tag, actor=SYSTEM, audit=False)
    enrol(app, scenario, tagged)
    enrol(app, scenario, untagged)
    advance(app, NOW)
    advance(app, NOW)
    advance(app, NOW)
    advance(app, NOW + HOUR)
    by_friend = {
        friend: [(s.step_id, s.state, s.error) for s in sends(app, friend_id=friend)] for friend in (tagged, untagged)
    }
    step_ids = sorted({s.step_id for s in sends(app)})
    assert [state for _, state, _ in by_friend[tagged]] == ["queued"] * 4
    assert by_friend[untagged] == [
        (step_ids[0], "skipped", "condition"),  # jumped to step 3, which is skipped too
        (step_ids[2], "skipped", "condition"),
        (step_ids[3], "queued", None),
    ]


def test_a_step_with_nothing_to_send_is_skipped(app):
    scenario = make_scenario(app, steps=[{"delay_minutes": 0}])
    enrol(app, scenario, make_friend(app))
    advance(app, NOW)
    assert [(s.state, s.variant_id) for s in sends(app)] == [(SendState.SKIPPED, None)]


def test_variants_are_recorded_and_drawn_by_weight(app):
    a, b = make_template(app, name="A"), make_template(app, name="B")
    variants = [{"label": "A", "weight": 3, "template_id": a}, {"label": "B", "weight": 1, "template_id": b}]
    scenario = make_scenario(app, steps=[{"variants": variants}])
    enrol(app, scenario, make_friend(app))
    advance(app, NOW)
    with session_scope(get_engine(app)) as s:
        steps = select(ScenarioStep.id).where(ScenarioStep.scenario_id == scenario)
        known = set(s.exec(select(StepVariant.id).where(StepVariant.step_id.in_(steps))))
    assert len(known) == 2 and sends(app)[0].variant_id in known


def test_variant_proportions():
    weights = {"A": 2, "B": 1, "C": 1}
    variants = [StepVariant(id=i, step_id=1, label=label, weight=w) for i, (label, w) in enumerate(weights.items())]
    counts = Counter(pick_variant(variants).label for _ in range(10_000))
    # expected 5000 / 2500 / 2500; 5 standard deviations are about 250 and 217
    assert abs(counts["A"] - 5000) < 250 and abs(counts["B"] - 2500) < 217 and abs(counts["C"] - 2500) < 217


def test_goal_reached_exits_and_is_recorded(app):
    tag = make_tag(app, "購入済")
    scenario = three_steps(app, goal_tree=json.dumps({"type": "tag", "tag_id": tag}))
    keeps = make_scenario(
        app, steps=[{"delay_minutes": 600}], goal_tree=json.dumps({"type": "tag", "tag_id": tag}), exit_on_goal=False
    )
    buyer, other = make_friend(app), make_friend(app, n=2)
    for friend in (buyer, other):
        enrol(app, scenario, friend)
    enrol(app, keeps, buyer)
    advance(app, NOW)
    with session_scope(get_engine(app)) as s:
        add_tag(s, friend_id=buyer, tag_id=tag, actor=SYSTEM, audit=False)
    assert goals_tick(get_engine(app), now=NOW + timedelta(minutes=5)) == 2
    rows = {(r.scenario_id, r.friend_id): r for r in enrolments(app)}
    assert (rows[scenario, buyer].status, rows[scenario, buyer].exit_reason) == ("exited", "goal")
    assert rows[scenario, buyer].goal_reached_at == NOW + timedelta(minutes=5)
    assert (rows[keeps, buyer].status, rows[keeps, buyer].goal_reached_at) == ("active", NOW + timedelta(minutes=5))
    assert rows[scenario, other].status == "active"
    advance(app, NOW + timedelta(days=2))
    assert len(sends(app, friend_id=buyer, scenario_id=scenario)) == 1


def test_goal_checked_with_the_due_batch(app):
    tag = make_tag(app, "購入済")
    scenario = three_steps(app, goal_tree=json.dumps({"type": "tag", "tag_id": tag}))
    buyer = make_friend(app)
    enrol(app, scenario, buyer)
    with session_scope(get_engine(app)) as s:
        add_tag(s, friend_id=buyer, tag_id=tag, actor=SYSTEM, audit=False)
    advance(app, NOW)
    assert sends(app) == []
    assert enrolments(app)[0].exit_reason == "goal"


def test_no_reaction_after_n_steps_exits(app):
    scenario = three_steps(app, exit_after_silent_steps=2)
    friend = make_friend(app)
    enrol(app, scenario, friend)
    advance(app, NOW)
    advance(app, NOW + HOUR)
    advance(app, NOW + timedelta(days=2))
    (row,) = enrolments(app)
    assert (row.status, row.exit_reason, len(sends(app))) == ("exited", "no_reaction", 2)


def test_a_worker_killed_mid_batch_leaves_it_undecided(app):
    scenario = three_steps(app)
    enrol(app, scenario, make_friend(app))
    with Session(get_engine(app)) as session:
        assert advance_due(session, now=NOW) == 1
        session.rollback()  # the worker died before committing
    assert sends(app) == []
    assert advance_tick(get_engine(app), now=NOW) == 1
    assert advance_tick(get_engine(app), now=NOW) == 0
    assert len(sends(app)) == 1


def test_a_date_field_step_reads_the_date_again(app):
    field = make_field(app, "booking", field_type="date")
    template = make_template(app)
    step = {
        "timing_kind": "field_relative",
        "field_id": field,
        "day_offset": -1,
        "at_minute": 600,
        "template_id": template,
    }
    scenario = make_scenario(app, steps=[step])
    moved, cleared = make_friend(app), make_friend(app, n=2)
    for friend in (moved, cleared):
        set_field_value(app, friend_id=friend, field_id=field, value="2026-05-20")
        enrol(app, scenario, friend)
    with session_scope(get_engine(app)) as s:
        s.exec(update(FieldValue).where(FieldValue.friend_id == moved).values(value="2026-05-25"))
        s.exec(FieldValue.__table__.delete().where(FieldValue.friend_id == cleared))
    due = enrolments(app)[0].next_due_at
    assert advance(app, due) == 2
    rows = {r.friend_id: r for r in enrolments(app)}
    assert rows[moved].next_due_at.isoformat() == "2026-05-24T01:00:00+00:00"
    assert [(s.state, s.error) for s in sends(app, friend_id=cleared)] == [("skipped", "no_date")]
    assert rows[cleared].status == "completed"


def test_bulk_enrolments_are_planned_by_the_job(app):
    field = make_field(app, "booking", field_type="date")
    step = {"timing_kind": "field_relative", "field_id": field, "day_offset": 0, "at_minute": 600}
    scenario = make_scenario(app, steps=[step])
    friend = make_friend(app)
    set_field_value(app, friend_id=friend, field_id=field, value="2026-06-01")
    run(app, enrolment_service.enrol_segment, scenario_id=scenario, tree=None, now=NOW, trigger_key="seg")
    assert advance(app, NOW) == 1
    assert enrolments(app)[0].next_position == 1
    assert enrolments(app)[0].next_due_at.isoformat() == "2026-06-01T01:00:00+00:00"


def test_finding_due_enrolments_uses_the_index(app):
    scenario = three_steps(app)
    with session_scope(get_engine(app)) as s:
        friends = [make_friend(app, n=n) for n in range(30)]
        s.add_all(
            Enrolment(
                scenario_id=scenario,
                friend_id=friend,
                trigger_key="k",
                next_position=1,
                next_due_at=NOW + timedelta(minutes=n),
            )
            for n, friend in enumerate(friends)
        )
    with session_scope(get_engine(app)) as s:
        connection = s.connection()
        postgresql = connection.dialect.name == "postgresql"
        if postgresql:
            # With statistics (autovacuum's, or the ANALYZE after a bulk enrolment) and no sequential scan of these
            # tiny tables, which index does the planner pick?
            connection.exec_driver_sql("ANALYZE scenario_enrolment")
            connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
        prefix = "EXPLAIN " if postgresql else "EXPLAIN QUERY PLAN "

        def explain(_conn, _cursor, statement, parameters, _context, _many):
            return prefix + statement, parameters

        query = due_query(s, NOW, 100, Enrolment.id)
        event.listen(connection, "before_cursor_execute", explain, retval=True)
        try:
            plan = connection.execute(query).cursor.fetchall()
        finally:
            event.remove(connection, "before_cursor_execute", explain)
    text = " ".join(str(row) for row in plan)
    assert "ix_scenario_enrolment_due" in text, text
    assert "SCAN scenario_enrolment " not in text  # SQLite: never a full scan of the enrolments


def test_the_job_decides_due_steps_and_checks_goals_between_them(app):
    tag = make_tag(app, "購入済")
    scenario = three_steps(app, goal_tree=json.dumps({"type": "tag", "tag_id": tag}))
    friend = make_friend(app)
    enrol(app, scenario, friend)
    engine = get_engine(app)
    with time_machine.travel(NOW + timedelta(minutes=1), tick=False):
        scenarios_job(app, engine, None)
    assert [s.state for s in sends(app)] == [SendState.QUEUED]
    with session_scope(engine) as s:
        add_tag(s, friend_id=friend, tag_id=tag, actor=SYSTEM, audit=False)
    with time_machine.travel(NOW + timedelta(minutes=3), tick=False):
        scenarios_job(app, engine, None)  # goals were checked 2 minutes ago: not yet again
    assert enrolments(app)[0].status == "active"
    with time_machine.travel(NOW + timedelta(minutes=7), tick=False):
        scenarios_job(app, engine, None)
    assert (enrolments(app)[0].exit_reason, len(sends(app))) == ("goal", 1)


@pytest.mark.skipif(TEST_DB != "postgresql", reason="row locks of several workers need PostgreSQL")
def test_two_workers_share_due_enrolments_without_waiting_or_deciding_twice(app):
    scenario = three_steps(app)
    for n in range(4):
        enrol(app, scenario, make_friend(app, n=n))
    engine = get_engine(app)
    with Session(engine) as first, Session(engine) as second:
        assert advance_due(first, now=NOW, limit=3) == 3
        assert advance_due(second, now=NOW, limit=3) == 1  # the first worker's rows are skipped, not waited for
        second.commit()
        first.commit()
    assert sorted(s.enrolment_id for s in sends(app)) == sorted(e.id for e in enrolments(app))
