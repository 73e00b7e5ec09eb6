"""Scenario requests already written and due go out before another batch is written (a batch of pushes writes
thousands of requests; a round sends one claim of them)."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import update

from crm.db import get_engine, session_scope
from crm.line.runtime import line_client
from crm.scenarios import delivery
from crm.scenarios.models import Scenario, ScenarioStatus, SendState
from crm.timeutil import utcnow
from tests.broadcasts.delivery.helpers import sim_friends
from tests.scenarios.delivery_helpers import SETTINGS, one_step_scenario, queue_sends, requests_of, sends_of, tick

SMALL = replace(SETTINGS, snapshot_batch=3, claim_batch=2)
PERSONAL = [{"type": "text", "text": "{name}さん、ご来店ありがとうございました。"}]


def prepare(app) -> int:
    return delivery.prepare(get_engine(app), line_client(app), utcnow(), SMALL)


def test_no_batch_is_written_while_a_claims_worth_of_requests_is_due(app, sim):
    scenario_id = one_step_scenario(app, PERSONAL)
    queue_sends(app, scenario_id, [friend_id for friend_id, _ in sim_friends(app, sim, 5)])
    assert prepare(app) == 3
    assert prepare(app) == 0  # 3 pushes are due: send them first
    assert len(requests_of(app, scenario_id)) == 3
    tick(app, settings=SMALL)
    assert [send.state for send in sends_of(app, scenario_id)] == [SendState.SENT] * 5
    assert len(requests_of(app, scenario_id)) == 5


def test_a_paused_scenarios_waiting_requests_do_not_hold_up_another(app, sim):
    friends = [friend_id for friend_id, _ in sim_friends(app, sim, 6)]
    paused, running = one_step_scenario(app, PERSONAL), one_step_scenario(app, PERSONAL)
    queue_sends(app, paused, friends[:3])
    assert prepare(app) == 3
    with session_scope(get_engine(app)) as session:
        session.exec(update(Scenario).where(Scenario.id == paused).values(status=ScenarioStatus.PAUSED))
    queue_sends(app, running, friends[3:])
    assert prepare(app) == 3
    assert len(requests_of(app, running)) == 3
