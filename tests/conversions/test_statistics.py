"""Conversions on broadcast and scenario statistics: sent group against the control group (CVR, value, lift with
its interval), the window, and conversions attributed to the broadcast's links; the cards on both pages."""

from __future__ import annotations

from datetime import timedelta

import pytest

from crm.broadcasts.models import BroadcastStatus, RecipientState
from crm.conversions import attribution
from crm.conversions.models import Conversion
from crm.scenarios.models import Enrolment
from tests.broadcasts.helpers import T0, add_broadcast, add_friends, add_recipients, db
from tests.console_helpers import signed_in_client
from tests.conversions.helpers import make_point
from tests.factories import make_scenario


def _conversion(session, point: int, friend_id: int, at, value: int = 1000, broadcast_id=None) -> None:
    session.add(
        Conversion(
            point_id=point, friend_id=friend_id, value=value, occurred_at=at, source="api", broadcast_id=broadcast_id
        )
    )


def test_a_broadcasts_conversions_against_its_control_group(app):
    point = make_point(app)
    with db(app) as session:
        ids = add_friends(session, 100)
        broadcast = add_broadcast(session, status=BroadcastStatus.SENT, started_at=T0)
        add_recipients(session, broadcast.id, ids[:60], RecipientState.SENT, sent_at=T0)
        add_recipients(session, broadcast.id, ids[60:], RecipientState.HELD_OUT)
        for friend_id in ids[:15]:  # 15 of 60 sent friends convert (25 %), one of them twice
            _conversion(session, point, friend_id, T0 + timedelta(days=1))
        _conversion(session, point, ids[0], T0 + timedelta(days=2), value=500, broadcast_id=broadcast.id)
        for friend_id in ids[60:64]:  # 4 of 40 held-out friends convert (10 %)
            _conversion(session, point, friend_id, T0 + timedelta(days=3))
        _conversion(session, point, ids[20], T0 + timedelta(days=8))  # after the 7-day window
        _conversion(session, point, ids[21], T0 - timedelta(hours=1))  # before sending started
        session.flush()
        found = attribution.broadcast_figures(session, broadcast.id)
        broadcast_id = broadcast.id
    assert (found.sent.friends, found.sent.converted, found.sent.conversions, found.sent.value) == (60, 15, 16, 15500)
    assert (found.control.friends, found.control.converted, found.control.value) == (40, 4, 4000)
    assert found.sent.cvr.percent == pytest.approx(25.0)
    assert found.lift.difference == pytest.approx(15.0)
    low, high = found.lift.interval
    assert low < 15.0 < high and low > -5  # Newcombe's interval around +15 points
    assert (found.clicked_conversions, found.clicked_value) == (1, 500)
    page = signed_in_client(app, "marketer").get(f"/broadcasts/{broadcast_id}/stats").get_data(as_text=True)
    assert 'id="conversion-lift"' in page and "15,500" in page


def test_a_broadcast_not_sent_yet_has_no_conversion_figures(app):
    with db(app) as session:
        broadcast = add_broadcast(session, status=BroadcastStatus.DRAFT)
        session.flush()
        assert attribution.broadcast_figures(session, broadcast.id) is None


def test_a_scenarios_conversions_count_from_each_enrolment(app):
    point = make_point(app)
    scenario_id = make_scenario(app)
    with db(app) as session:
        ids = add_friends(session, 4)
        for n, friend_id in enumerate(ids):
            session.add(
                Enrolment(
                    scenario_id=scenario_id,
                    friend_id=friend_id,
                    trigger_key=f"t:{n}",
                    held_out=n >= 2,
                    enrolled_at=T0 + timedelta(days=n),
                )
            )
        _conversion(session, point, ids[0], T0 + timedelta(days=6))  # in its window
        _conversion(session, point, ids[1], T0 + timedelta(days=7, hours=12))  # enrolled a day later: still in
        _conversion(session, point, ids[2], T0 + timedelta(days=10))  # enrolled at day 2: out of its window
        _conversion(session, point, ids[3], T0 + timedelta(days=4))  # control, in
        session.flush()
        found = attribution.scenario_figures(session, scenario_id)
    assert (found.sent.friends, found.sent.converted) == (2, 2)
    assert (found.control.friends, found.control.converted) == (2, 1)
    page = signed_in_client(app, "marketer").get(f"/scenarios/{scenario_id}").get_data(as_text=True)
    assert 'id="conversions"' in page
