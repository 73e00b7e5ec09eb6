"""Bulk enrolment of a segment: set-based, batched by friend id, resumable, under the scenario's rules."""

from __future__ import annotations

from datetime import timedelta

from crm.friends.models import FriendStatus
from crm.scenarios import enrolment as service
from crm.scenarios.plan import NOT_PLANNED
from tests.factories import make_field, make_friends, make_scenario, make_tag
from tests.scenarios.helpers import NOW, enrolments, run


def bulk(app, scenario, tree, key="segment:1", batch=3):
    return run(app, service.enrol_segment, scenario_id=scenario, tree=tree, now=NOW, trigger_key=key, batch=batch)


def test_enrols_the_following_friends_of_the_segment_in_batches(app):
    tag = make_tag(app)
    rows = [{"tags": [tag]}] * 7 + [{}] * 2 + [{"tags": [tag], "status": FriendStatus.BLOCKED}]
    friends = make_friends(app, rows)
    scenario = make_scenario(app, steps=[{"timing_kind": "day_at", "day_offset": 1, "at_minute": 600}])
    assert bulk(app, scenario, {"type": "tag", "tag_id": tag}) == 7
    enrolled = enrolments(app)
    assert [row.friend_id for row in enrolled] == friends[:7]
    assert {(row.next_position, row.next_due_at, row.status, row.held_out) for row in enrolled} == {
        (1, NOW + timedelta(days=1), "active", False)
    }
    assert {row.trigger_key for row in enrolled} == {"segment:1"}


def test_running_again_with_the_same_key_enrols_only_the_rest(app):
    friends = make_friends(app, [{}] * 5)
    scenario = make_scenario(app, steps=[{"delay_minutes": 5}], enrolment_rule="restart")
    run(app, service.enrol, scenario_id=scenario, friend_id=friends[0], trigger_key="segment:1", now=NOW)
    run(app, service.remove_friend, scenario_id=scenario, friend_id=friends[0], reason="staff", actor=None, now=NOW)
    assert bulk(app, scenario, None) == 4  # the first friend was already enrolled under this key
    assert bulk(app, scenario, None) == 0
    # Another key: the friend whose enrolment ended comes in again; running enrolments are never restarted in bulk.
    assert bulk(app, scenario, None, key="segment:2") == 1


def test_rules_once_and_exclusive_priority(app):
    friends = make_friends(app, [{}] * 4)
    once = make_scenario(app, steps=[{"delay_minutes": 5}], enrolment_rule="once")
    run(app, service.enrol, scenario_id=once, friend_id=friends[0], trigger_key="x", now=NOW)
    run(app, service.remove_friend, scenario_id=once, friend_id=friends[0], reason="staff", actor=None, now=NOW)
    assert bulk(app, once, None) == 3
    high = make_scenario(app, steps=[{"delay_minutes": 5}], exclusive=True, priority=9)
    low = make_scenario(app, steps=[{"delay_minutes": 5}], exclusive=True, priority=1)
    middle = make_scenario(app, steps=[{"delay_minutes": 5}], exclusive=True, priority=5)
    run(app, service.enrol, scenario_id=high, friend_id=friends[1], trigger_key="x", now=NOW)
    run(app, service.enrol, scenario_id=low, friend_id=friends[2], trigger_key="x", now=NOW)
    assert bulk(app, middle, None) == 3  # not friends[1], who is in a higher one
    low_row = enrolments(app, scenario_id=low)[0]
    assert (low_row.status, low_row.exit_reason) == ("exited", "higher_priority")


def test_control_group_drawn_in_sql(app):
    make_friends(app, [{}] * 400)
    scenario = make_scenario(app, steps=[{"delay_minutes": 5}], control_percent=25)
    assert bulk(app, scenario, None, batch=100) == 400
    held = sum(row.held_out for row in enrolments(app))
    assert 55 <= held <= 145  # 25 % of 400 = 100 ± 5 standard deviations (8.7)


def test_a_first_step_from_a_date_field_is_left_to_the_job(app):
    field = make_field(app, "booking", field_type="date")
    make_friends(app, [{}] * 2)
    step = {"timing_kind": "field_relative", "field_id": field, "day_offset": -1, "at_minute": 600}
    scenario = make_scenario(app, steps=[step])
    assert bulk(app, scenario, None) == 2
    assert {(row.next_position, row.next_due_at) for row in enrolments(app)} == {(NOT_PLANNED, NOW)}


def test_inactive_scenario_enrols_nobody(app):
    make_friends(app, [{}] * 2)
    assert bulk(app, make_scenario(app, steps=[], status="paused"), None) == 0
