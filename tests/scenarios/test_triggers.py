"""What enrols and exits friends on its own: webhook follow, unblock, block, messages, postbacks, tags, surveys,
clicks, erasure, actions; and the outbound webhook events scenarios emit."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event as sa_event
from sqlmodel import select

from crm import triggers
from crm.actions.registry import ActionContext, ActionError, kind_of
from crm.db import get_engine, session_scope
from crm.privacy.service import erase_friend
from crm.scenarios.enrolment import enrol
from crm.scenarios.models import Enrolment
from crm.scenarios.progress import advance_due
from crm.tags.service import add_tag
from crm.timeutil import from_line_timestamp
from crm.triggers import Trigger, TriggerEvent
from tests.factories import SYSTEM, friend_id_of, make_friend, make_scenario, make_tag, make_template
from tests.outbound.helpers import add_endpoint, events_of
from tests.scenarios.helpers import NOW, enrolments, run, sends
from tests.signing import event, post_signed, webhook_body

USER = "U" + "c" * 32
FOLLOWED_AT = from_line_timestamp(1_700_000_000_000)


def follow(client, unblocked=False):
    body = event("follow", USER, replyToken="r" * 32, follow={"isUnblocked": unblocked})
    assert post_signed(client, webhook_body(body)).status_code == 200
    return body


def send_webhook(client, kind, **fields):
    assert post_signed(client, webhook_body(event(kind, USER, **fields))).status_code == 200


def text(client, words):
    message = {"id": "1", "type": "text", "text": words, "quoteToken": "q" * 20}
    send_webhook(client, "message", replyToken="t" * 32, message=message)


def greeting(app, **values):
    values.setdefault("trigger_kind", "friend_added")
    return make_scenario(app, steps=[{"delay_minutes": 0, "template_id": make_template(app)}], **values)


def test_a_follow_enrols_with_its_reply_token_and_the_first_step_is_queued(app, client):
    scenario = greeting(app)
    manual = greeting(app, trigger_kind="manual")
    body = follow(client)
    post_signed(client, webhook_body(dict(body, deliveryContext={"isRedelivery": True})))
    (row,) = enrolments(app)
    assert (row.scenario_id, row.trigger_key, row.reply_token) == (
        scenario,
        f"follow:{body['webhookEventId']}",
        "r" * 32,
    )
    assert row.reply_expires_at == FOLLOWED_AT + timedelta(seconds=50)
    assert row.enrolled_at == FOLLOWED_AT and manual != scenario
    run(app, advance_due, now=FOLLOWED_AT)
    assert [(s.state, s.friend_id) for s in sends(app)] == [("queued", friend_id_of(app, USER))]


def test_the_reply_token_goes_to_the_highest_priority_scenario_only(app, client):
    low, high = greeting(app, priority=1), greeting(app, priority=7)
    follow(client)
    tokens = {row.scenario_id: row.reply_token for row in enrolments(app)}
    assert tokens == {high: "r" * 32, low: None}


@pytest.mark.parametrize("include_unblocked", [False, True])
def test_unblock_with_and_without_re_enrolment(app, client, include_unblocked):
    scenario = greeting(app, include_unblocked=include_unblocked, enrolment_rule="after_completion")
    follow(client)
    send_webhook(client, "unfollow")
    assert [(r.status, r.exit_reason) for r in enrolments(app)] == [("exited", "blocked")]
    follow(client, unblocked=True)
    rows = enrolments(app, scenario_id=scenario)
    assert len(rows) == (2 if include_unblocked else 1)


def test_an_unblock_does_not_enrol_in_a_first_follow_only_scenario_even_for_a_new_record(app, client):
    greeting(app)
    follow(client, unblocked=True)
    assert enrolments(app) == []


def test_a_reaction_resets_the_silent_steps(app, client):
    scenario = make_scenario(app, steps=[{"delay_minutes": 600}])
    follow(client)
    friend = friend_id_of(app, USER)
    run(app, lambda s: run_enrol(s, scenario, friend))
    for kind, react in (("message", lambda: text(client, "こんにちは")), ("postback", postback(client))):
        with session_scope(get_engine(app)) as s:
            s.get(Enrolment, enrolments(app)[0].id).silent_steps = 3
        react()
        assert enrolments(app)[0].silent_steps == 0, kind


def postback(client):
    return lambda: send_webhook(client, "postback", replyToken="p" * 32, postback={"data": "x=1"})


def run_enrol(session, scenario, friend, key="manual:1"):
    return enrol(session, scenario_id=scenario, friend_id=friend, trigger_key=key, now=NOW)


def test_an_opt_out_keyword_exits_only_its_scenarios(app, client):
    stoppable = make_scenario(app, steps=[{"delay_minutes": 600}], opt_out_keywords="配信停止\nSTOP")
    other = make_scenario(app, steps=[{"delay_minutes": 600}])
    follow(client)
    friend = friend_id_of(app, USER)
    for scenario in (stoppable, other):
        run(app, lambda s, scenario=scenario: run_enrol(s, scenario, friend))
    text(client, "配信停止してほしい")  # not the keyword itself
    assert {r.status for r in enrolments(app)} == {"active"}
    text(client, "  配信停止 ")
    rows = {r.scenario_id: (r.status, r.exit_reason) for r in enrolments(app)}
    assert rows == {stoppable: ("exited", "opted_out"), other: ("active", None)}


def test_a_tag_added_enrols_in_its_scenarios(app):
    tag, other_tag = make_tag(app), make_tag(app, "その他")
    scenario = make_scenario(app, steps=[{"delay_minutes": 5}], trigger_kind="tag_added", trigger_ref_id=tag)
    friend = make_friend(app)
    with session_scope(get_engine(app)) as s:
        add_tag(s, friend_id=friend, tag_id=other_tag, actor=SYSTEM)
    assert enrolments(app) == []
    with session_scope(get_engine(app)) as s:
        add_tag(s, friend_id=friend, tag_id=tag, actor=SYSTEM)
    assert [(r.scenario_id, r.friend_id) for r in enrolments(app)] == [(scenario, friend)]


def fire(app, kind, friend, ref_id, key):
    with session_scope(get_engine(app)) as s:
        triggers.fire(s, Trigger(event=kind, friend_id=friend, key=key, occurred_at=NOW, ref_id=ref_id))


def test_survey_answered_and_link_clicked_enrol_by_their_reference(app):
    survey = make_scenario(app, steps=[{"delay_minutes": 5}], trigger_kind="survey_answered", trigger_ref_id=4)
    link = make_scenario(app, steps=[{"delay_minutes": 5}], trigger_kind="link_clicked", trigger_ref_id=9)
    any_link = make_scenario(app, steps=[{"delay_minutes": 5}], trigger_kind="link_clicked")
    friend = make_friend(app)
    fire(app, TriggerEvent.SURVEY_ANSWERED, friend, 5, "survey:1")
    fire(app, TriggerEvent.LINK_CLICKED, friend, 8, "click:1")
    assert {r.scenario_id for r in enrolments(app)} == {any_link}
    fire(app, TriggerEvent.SURVEY_ANSWERED, friend, 4, "survey:2")
    fire(app, TriggerEvent.LINK_CLICKED, friend, 9, "click:2")
    assert {r.scenario_id for r in enrolments(app)} == {any_link, survey, link}


def test_erasure_exits_and_cancels_queued_sends(app):
    template = make_template(app)
    scenario = make_scenario(app, steps=[{"template_id": template}, {"template_id": template, "delay_minutes": 60}])
    friend = make_friend(app)
    run(app, lambda s: run_enrol(s, scenario, friend))
    run(app, advance_due, now=NOW)
    with session_scope(get_engine(app)) as s:
        erase_friend(s, friend_id=friend, actor=SYSTEM)
    assert [(r.status, r.exit_reason, r.next_due_at) for r in enrolments(app)] == [("exited", "erased", None)]
    assert [(s.state, s.error) for s in sends(app)] == [("skipped", "exited:erased")]
    assert run(app, advance_due, now=NOW + timedelta(days=1)) == 0


def test_start_and_stop_scenario_actions(app):
    scenario = make_scenario(app, steps=[{"delay_minutes": 5}], name="育成")
    friend = make_friend(app)
    start, stop = kind_of("start_scenario"), kind_of("stop_scenario")
    with session_scope(get_engine(app)) as s, app.test_request_context():
        with pytest.raises(ActionError):
            start.validate(s, {"scenario_id": scenario + 100})
        params = start.validate(s, {"scenario_id": str(scenario)})
        assert start.describe(s, params) == "シナリオ「育成」を開始する"
        context = ActionContext(session=s, friend_id=friend, params=params, trigger_key="survey:7", source="survey:1")
        assert start.run(context) is True
        assert start.run(context) is False  # the same trigger enrols once
    assert [r.trigger_key for r in enrolments(app)] == ["action:survey:7"]
    with session_scope(get_engine(app)) as s:
        context = ActionContext(session=s, friend_id=friend, params=params, trigger_key="x", source="link:2")
        assert stop.run(context) is True
    assert [(r.status, r.exit_reason) for r in enrolments(app)] == [("exited", "staff")]


def test_outbound_webhook_events(app):
    engine = get_engine(app)
    add_endpoint(engine, "http://127.0.0.1:9/hook", ["scenario.enrolled", "scenario.exited", "scenario.goal_reached"])
    scenario = make_scenario(app, steps=[{"delay_minutes": 5}], name="育成", enrolment_rule="restart")
    friend = make_friend(app)
    run(app, lambda s: run_enrol(s, scenario, friend, key="a"))
    run(app, lambda s: run_enrol(s, scenario, friend, key="b"))
    enrolled = events_of(engine, "scenario.enrolled")
    exited = events_of(engine, "scenario.exited")
    assert len(enrolled) == 2 and enrolled[0]["data"]["scenario"] == {"id": scenario, "name": "育成"}
    assert enrolled[0]["data"]["friend"]["id"] == friend
    assert [doc["data"]["reason"] for doc in exited] == ["restarted"]


def clicks(friends_and_links: list[tuple[int, int]], first_key: int = 1) -> list[Trigger]:
    return [
        Trigger(TriggerEvent.LINK_CLICKED, friend, key=f"click:{first_key + n}", occurred_at=NOW, ref_id=link)
        for n, (friend, link) in enumerate(friends_and_links)
    ]


def test_a_batch_of_clicks_has_the_same_effect_as_firing_them_one_by_one(app):
    """The worker's click reader fires its batch with fire_many: silent steps reset, each click enrols by its link
    (once per click key), as the per-click subscriber would."""
    link_scenario = make_scenario(app, steps=[{"delay_minutes": 5}], trigger_kind="link_clicked", trigger_ref_id=9)
    any_link = make_scenario(app, steps=[{"delay_minutes": 5}], trigger_kind="link_clicked")
    waiting = make_scenario(app, steps=[{"delay_minutes": 600}])
    first, second, bystander = (make_friend(app, n=n) for n in (1, 2, 3))
    for friend in (first, bystander):
        run(app, lambda s, friend=friend: run_enrol(s, waiting, friend))
    with session_scope(get_engine(app)) as s:
        for enrolment in s.exec(select(Enrolment)):
            enrolment.silent_steps = 3
    batch = clicks([(first, 8), (second, 9), (first, 9)])
    with session_scope(get_engine(app)) as s:
        triggers.fire_many(s, batch)
        triggers.fire_many(s, batch)  # read again (a worker killed before its cursor moved): nothing doubles
    rows = {(r.scenario_id, r.friend_id): r for r in enrolments(app)}
    assert {(link_scenario, first), (link_scenario, second), (any_link, first), (any_link, second)} <= set(rows)
    assert (link_scenario, bystander) not in rows and (any_link, bystander) not in rows
    assert rows[(waiting, first)].silent_steps == 0
    assert rows[(waiting, bystander)].silent_steps == 3
    batched = {(r.scenario_id, r.friend_id, r.trigger_key) for r in enrolments(app) if r.scenario_id != waiting}
    with session_scope(get_engine(app)) as s:
        for enrolment in s.exec(select(Enrolment).where(Enrolment.scenario_id != waiting)):
            s.delete(enrolment)
    with session_scope(get_engine(app)) as s:
        for trigger in batch:
            triggers.fire(s, trigger)
    one_by_one = {(r.scenario_id, r.friend_id, r.trigger_key) for r in enrolments(app) if r.scenario_id != waiting}
    assert batched == one_by_one


def test_a_batch_of_clicks_on_links_without_scenarios_costs_the_same_statements_for_40_or_400(app):
    friends = [make_friend(app, n=n) for n in range(1, 5)]

    def statements_for(batch: list[Trigger]) -> int:
        count = 0

        def record(*_args):
            nonlocal count
            count += 1

        engine = get_engine(app)
        sa_event.listen(engine, "before_cursor_execute", record)
        try:
            with session_scope(engine) as s:
                triggers.fire_many(s, batch)
        finally:
            sa_event.remove(engine, "before_cursor_execute", record)
        return count

    small = statements_for(clicks([(friends[n % 4], 7) for n in range(40)]))
    large = statements_for(clicks([(friends[n % 4], 7) for n in range(400)], first_key=100))
    assert small == large
