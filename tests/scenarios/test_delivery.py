"""Scenario steps through the delivery engine, against the simulator: multicast for shared content, push for
personal content, failures that send nothing, LINE's 5xx, 429 and monthly limit."""

from collections import Counter
from datetime import timedelta

import requests
from sqlalchemy import update

from crm.broadcasts.models import BroadcastStatus, DeliveryRequest
from crm.db import get_engine, session_scope
from crm.friends.models import Friend
from crm.message_templates.models import MessageTemplate
from crm.scenarios.models import Scenario, ScenarioSend, ScenarioStatus, SendState, StepVariant
from crm.timeutil import utcnow
from linesim.client import SimulatorClient
from tests.broadcasts.delivery.helpers import BASE, broadcast_row, sim_friends
from tests.factories import make_broadcast, make_scenario, make_template
from tests.scenarios.delivery_helpers import (
    one_step_scenario,
    queue_sends,
    requests_of,
    sends_of,
    step_variant,
    texts,
    tick,
)

SHARED = [{"type": "text", "text": "ご来店ありがとうございました。またのお越しをお待ちしております。"}]
PUSH = "/v2/bot/message/push"


def many_friends(app, simulator_url: str, count: int) -> list[tuple[int, str]]:
    with requests.Session() as http:
        return sim_friends(app, SimulatorClient(simulator_url, session=http), count)


def test_a_step_due_together_goes_by_multicast_of_at_most_500(app, sim, simulator):
    friends = many_friends(app, simulator.url, 1003)
    scenario_id = one_step_scenario(app, SHARED)
    queue_sends(app, scenario_id, [friend_id for friend_id, _ in friends[:1001]])
    later = queue_sends(app, scenario_id, [friends[1001][0]], due_at=utcnow() + timedelta(hours=1))
    other = one_step_scenario(app, [{"type": "text", "text": "別のステップです"}])
    queue_sends(app, other, [friends[1002][0]])
    tick(app)
    requests_sent = requests_of(app, scenario_id)
    assert [(r.kind, r.recipients, r.state, r.broadcast_id) for r in requests_sent] == [
        ("multicast", 500, "sent", None),
        ("multicast", 500, "sent", None),
        ("multicast", 1, "sent", None),
    ]
    key_of = {r.id: r.retry_key for r in requests_sent}
    sends = {send.friend_id: send for send in sends_of(app, scenario_id)}
    for friend_id, user_id in friends[:1001]:
        [entry] = sim.inbox(user_id)
        send = sends[friend_id]
        assert (send.state, send.sent_via) == (SendState.SENT, "multicast") and send.sent_at is not None
        assert entry["api"] == "multicast" and entry["retryKey"] == key_of[send.request_id]
        assert entry["messages"][0]["text"] == SHARED[0]["text"]
    assert [(s.state, s.request_id) for s in sends_of(app, scenario_id) if s.id in later] == [("queued", None)]
    assert sim.inbox(friends[1001][1]) == []
    assert [(r.kind, r.recipients) for r in requests_of(app, other)] == [("multicast", 1)]  # its own request
    assert texts(sim, friends[1002][1]) == ["別のステップです"]


def test_variants_of_a_step_go_in_separate_requests(app, sim):
    friends = sim_friends(app, sim, 4)
    first, second = (
        make_template(app, [{"type": "text", "text": "A案"}]),
        make_template(app, [{"type": "text", "text": "B案"}]),
    )
    variants = [{"label": "A", "weight": 1, "template_id": first}, {"label": "B", "weight": 1, "template_id": second}]
    scenario_id = make_scenario(app, steps=[{"variants": variants}])
    send_ids = queue_sends(app, scenario_id, [friend_id for friend_id, _ in friends])
    step_id, variant_a = step_variant(app, scenario_id)
    with session_scope(get_engine(app)) as session:  # the runtime assigned B to the last two friends
        variant_b = session.execute(StepVariant.__table__.select().where(StepVariant.label == "B")).one().id
        session.execute(update(ScenarioSend).where(ScenarioSend.id.in_(send_ids[2:])).values(variant_id=variant_b))
    tick(app)
    assert sorted((r.scenario_step_id, r.scenario_variant_id, r.recipients) for r in requests_of(app, scenario_id)) == [
        (step_id, variant_a, 2),
        (step_id, variant_b, 2),
    ]
    assert [texts(sim, user_id) for _, user_id in friends] == [["A案"], ["A案"], ["B案"], ["B案"]]


def test_personal_content_goes_by_push_rendered_per_friend(app, sim):
    friends = sim_friends(app, sim, 3, name="さくら")
    messages = [
        {"type": "text", "text": "{name}さん、ご予約はこちら https://shop.example.jp/reserve"},
        {"type": "sticker", "packageId": "446", "stickerId": "1988"},
    ]
    scenario_id = one_step_scenario(app, messages)
    queue_sends(app, scenario_id, [friend_id for friend_id, _ in friends])
    tick(app)
    sent_requests = requests_of(app, scenario_id)
    assert [(r.kind, r.recipients, r.state) for r in sent_requests] == [("push", 1, "sent")] * 3
    keys = {r.id: r.retry_key for r in sent_requests}
    received = []
    for n, (send, (_, user_id)) in enumerate(zip(sends_of(app, scenario_id), friends, strict=True)):
        [entry] = sim.inbox(user_id)
        assert entry["api"] == "push" and entry["retryKey"] == keys[send.request_id]
        assert (send.state, send.sent_via) == (SendState.SENT, "push")
        text = entry["messages"][0]["text"]
        assert text.startswith(f"さくら{n}さん、ご予約はこちら {BASE}/r/")
        assert entry["messages"][1]["type"] == "sticker"
        received.append(text)
    assert len(set(received)) == 3  # each friend's own tracked link


def test_archived_or_deleted_template_fails_the_send_and_sends_nothing(app, sim):
    friends = sim_friends(app, sim, 2)
    archived = one_step_scenario(app, SHARED)
    deleted = one_step_scenario(app, SHARED)
    queue_sends(app, archived, [friends[0][0]])
    queue_sends(app, deleted, [friends[1][0]])
    with session_scope(get_engine(app)) as session:
        archived_template = session.get(StepVariant, step_variant(app, archived)[1]).template_id
        session.get(MessageTemplate, archived_template).archived = True
        session.get(StepVariant, step_variant(app, deleted)[1]).template_id = None  # ON DELETE SET NULL
    tick(app)
    assert [(s.state, s.error, s.request_id) for s in sends_of(app, archived)] == [
        ("failed", "template archived", None)
    ]
    assert [(s.state, s.error, s.request_id) for s in sends_of(app, deleted)] == [("failed", "template deleted", None)]
    assert sim.requests_log(path="/v2/bot/message") == []


def test_a_template_archived_after_the_request_was_written_fails_unsent(app, sim):
    friends = sim_friends(app, sim, 1)
    scenario_id = one_step_scenario(app, SHARED)
    queue_sends(app, scenario_id, [friends[0][0]])
    sim.set_fault("multicast", kind="error", count=1, status=500)
    tick(app)  # written into a request, first attempt failed
    with session_scope(get_engine(app)) as session:
        session.get(
            MessageTemplate, session.get(StepVariant, step_variant(app, scenario_id)[1]).template_id
        ).archived = True
        session.execute(update(DeliveryRequest).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
    tick(app)
    [send] = sends_of(app, scenario_id)
    assert (send.state, send.error) == ("failed", "template archived")
    assert sim.inbox(friends[0][1]) == []


def test_a_friend_no_longer_following_fails_not_following(app, sim):
    friends = sim_friends(app, sim, 2)
    scenario_id = one_step_scenario(app, SHARED)
    queue_sends(app, scenario_id, [friend_id for friend_id, _ in friends])
    with session_scope(get_engine(app)) as session:
        session.get(Friend, friends[0][0]).status = "blocked"
    tick(app)
    blocked, following = sends_of(app, scenario_id)
    assert (blocked.state, blocked.error, blocked.request_id) == ("failed", "not following", None)
    assert following.state == "sent"
    assert sim.inbox(friends[0][1]) == [] and len(sim.inbox(friends[1][1])) == 1


def test_5xx_is_retried_with_the_same_key_and_429_is_paced(app, sim):
    friends = sim_friends(app, sim, 2)
    scenario_id = one_step_scenario(app, [{"type": "text", "text": "{name}さん、こんにちは"}])
    queue_sends(app, scenario_id, [friend_id for friend_id, _ in friends])
    sim.set_fault("push", kind="error", count=1, status=500)
    tick(app)
    assert Counter(s.state for s in sends_of(app, scenario_id)) == {"sent": 1, "queued": 1}
    with session_scope(get_engine(app)) as session:  # the backoff is over
        session.execute(update(DeliveryRequest).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
    sim.set_fault("push", kind="error", count=1, status=429)
    tick(app)  # 429: tried again after a short pause, in the same tick
    assert [s.state for s in sends_of(app, scenario_id)] == ["sent", "sent"]
    log = sim.requests_log(path=PUSH)
    # The first tick's two pushes run at once, so the simulator may log either first.
    assert Counter(entry["status"] for entry in log[:2]) == {500: 1, 200: 1}
    assert [entry["status"] for entry in log[2:]] == [429, 200]
    failed, delivered = sorted(log[:2], key=lambda entry: entry["status"], reverse=True)
    assert failed["retryKey"] == log[2]["retryKey"] == log[3]["retryKey"] != delivered["retryKey"]
    assert all(len(sim.inbox(user_id)) == 1 for _, user_id in friends)
    assert all(r.attempts == 1 for r in requests_of(app, scenario_id) if r.retry_key == delivered["retryKey"])


def test_4xx_fails_the_send_with_lines_reason(app, sim):
    friends = sim_friends(app, sim, 1)
    scenario_id = one_step_scenario(app, [{"type": "text", "text": "{name}さん"}])
    queue_sends(app, scenario_id, [friends[0][0]])
    sim.set_fault("push", kind="error", count=1, status=400)
    tick(app)
    [send] = sends_of(app, scenario_id)
    assert (send.state, send.error, send.sent_at) == ("failed", "400: Simulated failure", None)


def test_monthly_limit_holds_scenario_sends_without_pausing_broadcasts(app, sim):
    friends = sim_friends(app, sim, 3)
    scenario_id = one_step_scenario(app, [{"type": "text", "text": "{name}さん、こんにちは"}])
    queue_sends(app, scenario_id, [friend_id for friend_id, _ in friends])
    sim.set_quota(1)
    started = utcnow()
    tick(app)
    assert Counter(s.state for s in sends_of(app, scenario_id)) == {"sent": 1, "queued": 2}
    waiting = [r for r in requests_of(app, scenario_id) if r.state == "pending"]
    assert len(waiting) == 2 and all(r.next_attempt_at >= started + timedelta(minutes=9) for r in waiting)
    sim.set_quota(None)
    broadcast_id = make_broadcast(app, [{"type": "text", "text": "セール"}])
    tick(app)
    assert broadcast_row(app, broadcast_id).status == BroadcastStatus.SENT  # not held up by the scenario's wait
    assert Counter(s.state for s in sends_of(app, scenario_id)) == {"sent": 1, "queued": 2}  # still waiting
    with session_scope(get_engine(app)) as session:  # the wait is over
        session.execute(update(DeliveryRequest).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
    tick(app)
    assert [s.state for s in sends_of(app, scenario_id)] == ["sent"] * 3
    assert all(texts(sim, user_id).count(f"友だち{n}さん、こんにちは") == 1 for n, (_, user_id) in enumerate(friends))


def test_a_paused_scenarios_sends_wait_for_its_resume(app, sim):
    friends = sim_friends(app, sim, 2)
    scenario_id = one_step_scenario(app, [{"type": "text", "text": "{name}さん"}])
    queue_sends(app, scenario_id, [friends[0][0]])
    sim.set_fault("push", kind="error", count=1, status=500)
    tick(app)  # written into a request, not sent yet
    queue_sends(app, scenario_id, [friends[1][0]])
    with session_scope(get_engine(app)) as session:
        session.get(Scenario, scenario_id).status = ScenarioStatus.PAUSED
        session.execute(update(DeliveryRequest).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
    tick(app)
    assert [(s.state, s.request_id is not None) for s in sends_of(app, scenario_id)] == [
        ("queued", True),
        ("queued", False),
    ]
    assert all(sim.inbox(user_id) == [] for _, user_id in friends)
    with session_scope(get_engine(app)) as session:
        session.get(Scenario, scenario_id).status = ScenarioStatus.ACTIVE
    tick(app)
    assert [s.state for s in sends_of(app, scenario_id)] == ["sent", "sent"]
    assert all(len(sim.inbox(user_id)) == 1 for _, user_id in friends)
