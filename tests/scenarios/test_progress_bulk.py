"""Steps decided set-based (crm.scenarios.progress_bulk) decide exactly what deciding them one by one (a step with
actions) does, and in a number of statements that does not grow with the enrolments."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import event, update
from sqlmodel import Session, select

from crm.db import get_engine, session_scope
from crm.scenarios import enrolment as enrolment_service
from crm.scenarios import events
from crm.scenarios.events import on_scenario_event
from crm.scenarios.models import Enrolment, ScenarioStep, StepVariant
from crm.scenarios.progress import advance_due
from crm.tags.service import add_tag
from tests.factories import SYSTEM, make_field, make_friend, make_scenario, make_tag, make_template, set_field_value
from tests.scenarios.helpers import NOW, enrolments, run, sends

HOUR = timedelta(hours=1)


def mixed_scenario(app, *, tag: int, field: int, actions: list | None) -> int:
    """Four steps: a condition with a jump and weighted variants, one hour after the previous, a date field's
    day before at 10:00, day 3 at 10:00; `actions` on every step makes each decided one by one."""
    a, b = make_template(app, name="A"), make_template(app, name="B")
    extra = {"actions": actions} if actions else {}
    steps = [
        {
            "variants": [{"label": "A", "weight": 1, "template_id": a}, {"label": "B", "weight": 0, "template_id": b}],
            "condition_tree": json.dumps({"type": "tag", "tag_id": tag}),
            "condition_otherwise": "jump",
            "jump_to_position": 3,
            **extra,
        },
        {"delay_minutes": 60, "elapsed_from": "previous", "template_id": a, **extra},
        {"timing_kind": "field_relative", "field_id": field, "day_offset": -1, "at_minute": 600, **extra},
        {"timing_kind": "day_at", "day_offset": 3, "at_minute": 600, "template_id": b, **extra},
    ]
    return make_scenario(app, steps=steps, name="一括" if actions is None else "一件ずつ")


def decisions(app, scenario: int) -> dict[int, tuple]:
    """Per friend: the enrolment's state and its sends (by step position and variant label)."""
    with session_scope(get_engine(app)) as session:
        position = dict(session.exec(select(ScenarioStep.id, ScenarioStep.position)).all())
        label = dict(session.exec(select(StepVariant.id, StepVariant.label)).all())
    by_friend = {}
    for row in enrolments(app, scenario_id=scenario):
        state = (row.status, row.next_position, row.next_due_at, row.last_step_at, row.silent_steps, row.finished_at)
        steps = sorted(
            (position[s.step_id], label.get(s.variant_id), s.state, s.error, s.due_at)
            for s in sends(app, enrolment_id=row.id)
        )
        by_friend[row.friend_id] = (state, steps)
    return by_friend


def test_set_based_decisions_equal_one_by_one_decisions_on_a_mixed_set(app):
    tag, marker = make_tag(app, "会員"), make_tag(app, "印")
    field = make_field(app, "booking", field_type="date")
    bulk = mixed_scenario(app, tag=tag, field=field, actions=None)
    one_by_one = mixed_scenario(app, tag=tag, field=field, actions=[{"type": "add_tag", "tag_id": marker}])
    friends = [make_friend(app, n=n) for n in range(8)]
    for index, friend in enumerate(friends):
        if index % 2:
            with session_scope(get_engine(app)) as session:
                add_tag(session, friend_id=friend, tag_id=tag, actor=SYSTEM, audit=False)
        if index % 4 < 2:
            set_field_value(app, friend_id=friend, field_id=field, value=f"2026-05-{14 + index:02d}")
        enrolled_at = NOW + timedelta(minutes=30 * (index % 3))
        for scenario in (bulk, one_by_one):
            run(
                app,
                enrolment_service.enrol,
                scenario_id=scenario,
                friend_id=friend,
                trigger_key=f"t:{friend}",
                now=enrolled_at,
            )
    with session_scope(get_engine(app)) as session:  # a control group of two
        session.exec(update(Enrolment).where(Enrolment.friend_id.in_(friends[4:6])).values(held_out=True))
    for hours in (0, 1, 2, 3, 24, 48, 96, 24 * 30, 24 * 31):
        run(app, advance_due, now=NOW + hours * HOUR)
    expected = decisions(app, one_by_one)
    assert decisions(app, bulk) == expected
    states = [state for state, _ in expected.values()]
    steps = [step for _, sends_ in expected.values() for step in sends_]
    assert {status for status, *_ in states} == {"completed"}
    assert {(state, error) for _, _, state, error, _ in steps} >= {
        ("queued", None),
        ("held_out", None),
        ("skipped", "condition"),
        ("skipped", "no_date"),
        ("skipped", None),  # step 3 has nothing to send
    }
    assert {(position, label) for position, label, state, _, _ in steps if state == "queued"} == {
        (1, "A"),  # B weighs 0
        (2, "A"),
        (4, "A"),
    }


def statements_to_decide(app, count: int) -> int:
    """How many SQL statements advance_due runs to decide the first step of `count` or more enrolments (a condition,
    two variants, a control group, a next step)."""
    tag = make_tag(app, f"t{count}")
    a, b = make_template(app, name="A"), make_template(app, name="B")
    steps = [
        {
            "variants": [{"label": "A", "weight": 1, "template_id": a}, {"label": "B", "weight": 1, "template_id": b}],
            "condition_tree": json.dumps({"type": "tag", "tag_id": tag}),
        },
        {"timing_kind": "day_at", "day_offset": 1, "at_minute": 600, "template_id": a},
    ]
    scenario = make_scenario(app, steps=steps)
    for n in range(count):
        friend = make_friend(app, n=10_000 * count + n)
        if n % 2:
            with session_scope(get_engine(app)) as session:
                add_tag(session, friend_id=friend, tag_id=tag, actor=SYSTEM, audit=False)
    run(app, enrolment_service.enrol_segment, scenario_id=scenario, tree=None, now=NOW, trigger_key="seg")
    engine = get_engine(app)
    with session_scope(engine) as session:  # a control group of every fifth
        session.exec(
            update(Enrolment).where(Enrolment.scenario_id == scenario, Enrolment.id % 5 == 0).values(held_out=True)
        )
    statements = []

    def count_statement(*_args):
        statements.append(1)

    with Session(engine) as session:
        event.listen(engine, "before_cursor_execute", count_statement)
        try:
            assert advance_due(session, now=NOW) >= count  # and earlier calls' friends
        finally:
            event.remove(engine, "before_cursor_execute", count_statement)
        session.commit()
    assert {s.state for s in sends(app, scenario_id=scenario)} == {"queued", "skipped", "held_out"}
    with session_scope(engine) as session:  # ready for the next call
        session.exec(update(Enrolment).values(status="completed", next_due_at=None, next_position=None))
    return len(statements)


def test_deciding_a_step_takes_the_same_statements_for_40_or_400_enrolments(app):
    assert statements_to_decide(app, 40) == statements_to_decide(app, 400)


def test_completed_enrolments_are_still_told_to_listeners(app, monkeypatch):
    monkeypatch.setattr(events, "_listeners", [])
    told = []
    on_scenario_event(lambda _session, kind, enrolment, _reason: told.append((kind, enrolment.status)))
    scenario = make_scenario(app, steps=[{"template_id": make_template(app)}])
    for n in range(3):
        friend = make_friend(app, n=n)
        run(app, enrolment_service.enrol, scenario_id=scenario, friend_id=friend, trigger_key="k", now=NOW)
    run(app, advance_due, now=NOW)
    assert [entry for entry in told if entry[0] == "completed"] == [("completed", "completed")] * 3
