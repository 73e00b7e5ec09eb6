"""Scenario sends delivered exactly once by worker processes: faults (500, stalls past the timeout, 429) while a
worker is killed (SIGKILL) mid-step and restarted; and two workers sharing a step on PostgreSQL."""

from collections import Counter

import pytest
from sqlalchemy import func, select

from crm.broadcasts.models import DeliveryRequest
from crm.db import get_engine, session_scope
from crm.scenarios.models import ScenarioSend, SendState
from tests.broadcasts.delivery.test_faults_and_workers import (
    PUSH,
    RECIPIENTS,
    FaultInjector,
    Worker,
    many_friends,
    wait_for,
)
from tests.conftest import TEST_DB
from tests.scenarios.delivery_helpers import one_step_scenario, queue_sends

MESSAGE = [{"type": "text", "text": "{name}さん、ご来店ありがとうございました"}]


def sent_count(app, scenario_id: int) -> int:
    with session_scope(get_engine(app)) as session:
        return session.execute(
            select(func.count()).where(ScenarioSend.scenario_id == scenario_id, ScenarioSend.state == SendState.SENT)
        ).scalar()


def assert_everyone_got_exactly_one(app, sim, friends, scenario_id):
    """Each inbox holds one message of the step, under its request's retry key; every send is SENT."""
    with session_scope(get_engine(app)) as session:
        rows = session.execute(
            select(ScenarioSend.friend_id, ScenarioSend.state, ScenarioSend.sent_via, DeliveryRequest.retry_key)
            .join(DeliveryRequest, DeliveryRequest.id == ScenarioSend.request_id)
            .where(ScenarioSend.scenario_id == scenario_id)
        ).all()
    assert Counter((state, via) for _, state, via, _ in rows) == {("sent", "push"): len(friends)}
    keys = {friend_id: key for friend_id, _, _, key in rows}
    for n, (friend_id, user_id) in enumerate(friends):
        inbox = sim.inbox(user_id)
        assert len(inbox) == 1, (user_id, inbox)
        assert inbox[0]["retryKey"] == keys[friend_id]
        assert inbox[0]["messages"][0]["text"] == f"友だち{n}さん、ご来店ありがとうございました"


def test_faults_and_a_killed_worker_still_deliver_a_step_exactly_once(app, sim, simulator, database_url):
    friends = many_friends(app, simulator.url, RECIPIENTS)
    scenario_id = one_step_scenario(app, MESSAGE)
    queue_sends(app, scenario_id, [friend_id for friend_id, _ in friends])
    injector = FaultInjector(simulator.url)
    injector.start()
    first = Worker(database_url, simulator.url)
    try:
        wait_for(lambda: sent_count(app, scenario_id) >= RECIPIENTS // 5, workers=[first])
        first.kill()
        assert sent_count(app, scenario_id) < RECIPIENTS  # killed mid-step
        second = Worker(database_url, simulator.url)
        try:
            wait_for(lambda: sent_count(app, scenario_id) == RECIPIENTS, workers=[second])
        finally:
            second.stop()
    finally:
        injector.stop()
        first.stop()
    assert_everyone_got_exactly_one(app, sim, friends, scenario_id)
    log = sim.requests_log(path=PUSH)
    statuses = Counter(entry["status"] for entry in log)
    assert statuses[500] and statuses[429] and statuses[409]  # faults happened; stalled sends were retried
    accepted = Counter(entry["retryKey"] for entry in log if entry["status"] == 200)
    assert len(accepted) == RECIPIENTS and set(accepted.values()) == {1}


@pytest.mark.skipif(TEST_DB != "postgresql", reason="several workers share a step on PostgreSQL only")
def test_two_workers_share_one_step(app, sim, simulator, database_url):
    friends = many_friends(app, simulator.url, RECIPIENTS)
    scenario_id = one_step_scenario(app, MESSAGE)
    queue_sends(app, scenario_id, [friend_id for friend_id, _ in friends])
    sim.set_fault("push", kind="stall", count=None, stall_seconds=0.02)  # slow LINE: both workers find work
    workers = [Worker(database_url, simulator.url), Worker(database_url, simulator.url)]
    try:
        wait_for(lambda: sent_count(app, scenario_id) == RECIPIENTS, workers=workers)
    finally:
        for worker in workers:
            worker.stop()
        sim.clear_faults()
    assert_everyone_got_exactly_one(app, sim, friends, scenario_id)
    assert all(worker.sent_requests() > 0 for worker in workers), [w.sent_requests() for w in workers]
    assert sum(worker.sent_requests() for worker in workers) == RECIPIENTS
    assert not any(entry["status"] == 409 for entry in sim.requests_log(path=PUSH))  # nobody took a claimed row
