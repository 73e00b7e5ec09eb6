"""The scenario console through real forms and pages: build, see the timeline and statistics, change status,
roles, bulk enrolment with its count, the friend page card and the test run to the simulator's test friends."""

import re
from datetime import UTC, datetime

import pytest
from sqlmodel import select

from crm.broadcasts import models as broadcast_models
from crm.db import get_engine, session_scope
from crm.scenarios.models import Enrolment, Scenario, ScenarioStep, StepVariant
from crm.segments.models import Segment
from crm.staff.models import AuditEntry
from crm.tags.models import FriendTag, Tag
from tests.console_helpers import csrf_token, signed_in_client
from tests.factories import friend_id_of, make_friend, make_scenario, make_template

STEP = {"timing_kind": "elapsed", "delay_amount": "3", "delay_unit": "days", "elapsed_from": "enrolment"}


def _post(client, page: str, path: str, data: dict):
    return client.post(path, data={**data, "csrf_token": csrf_token(client, page)})


def _audit(app) -> list[str]:
    with session_scope(get_engine(app)) as session:
        return [entry.action for entry in session.exec(select(AuditEntry).order_by(AuditEntry.id))]


def _new_scenario(client, **fields) -> int:
    response = _post(
        client, "/scenarios/new", "/scenarios/new", {"name": "ようこそ", "trigger_kind": "manual", **fields}
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    return int(re.search(r"/scenarios/(\d+)", response.headers["Location"]).group(1))


def test_a_marketer_builds_a_scenario_and_sees_its_timeline(app):
    template = make_template(app, [{"type": "text", "text": "ご購入ありがとうございます！\nクーポンです"}], name="お礼")
    client = signed_in_client(app, "marketer")
    scenario_id = _new_scenario(client, window_start="09:00", window_end="21:00", control_percent="10")
    page = f"/scenarios/{scenario_id}/steps/new"
    response = _post(client, page, page, {**STEP, "variants-0-template_id": str(template), "variants-0-weight": "1"})
    assert response.status_code == 302
    day_step = {"timing_kind": "day_at", "day_offset": "1", "at_time": "10:00", "variants-0-template_id": str(template)}
    assert _post(client, page, page, day_step).status_code == 302
    html = client.get(f"/scenarios/{scenario_id}").get_data(as_text=True)
    assert "お礼" in html and "ご購入ありがとうございます！ クーポンです" in html
    assert re.search(r'data-step="1".*?timing-words">([^<]+)<', html, re.S).group(1).strip()
    assert 'data-step="2"' in html and "10:00" in html
    with session_scope(get_engine(app)) as session:
        scenario = session.get(Scenario, scenario_id)
        steps = session.exec(select(ScenarioStep).where(ScenarioStep.scenario_id == scenario_id)).all()
        assert (scenario.window_start_minute, scenario.window_end_minute, scenario.control_percent) == (540, 1260, 10)
        assert sorted((s.position, s.delay_minutes, s.at_minute) for s in steps) == [(1, 3 * 1440, None), (2, 0, 600)]
    assert _audit(app)[-3:] == ["scenario.created", "scenario.step_added", "scenario.step_added"]


def test_a_refused_step_shows_the_error_next_to_its_field(app):
    template = make_template(app)
    client = signed_in_client(app, "marketer", locale="en")
    scenario_id = _new_scenario(client)
    page = f"/scenarios/{scenario_id}/steps/new"
    response = _post(client, page, page, {"timing_kind": "day_at", "variants-0-template_id": str(template)})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert re.search(r'name="at_time"[^>]*>\s*</label>\s*<p class="error">Give a time from 00:00 to 23:59', html)
    response = _post(client, page, page, STEP)  # no template, no action
    assert "A step sends a template or runs actions" in response.get_data(as_text=True)


def test_status_buttons_and_the_japanese_words(app):
    client = signed_in_client(app, "marketer")
    scenario_id = _new_scenario(client)
    page = f"/scenarios/{scenario_id}"
    response = _post(client, page, f"{page}/status/activate", {})
    assert "ステップを1つ以上" in client.get(response.headers["Location"]).get_data(as_text=True)
    with session_scope(get_engine(app)) as session:
        template = make_template(app)
        step = ScenarioStep(scenario_id=scenario_id, position=1)
        session.add(step)
        session.flush()
        session.add(StepVariant(step_id=step.id, template_id=template))
    for move, status in [("activate", "active"), ("pause", "paused"), ("resume", "active")]:
        assert _post(client, page, f"{page}/status/{move}", {}).status_code == 302
        html = client.get(page).get_data(as_text=True)
        assert f'data-status="{status}"' in html
    assert "配信中" in client.get("/scenarios").get_data(as_text=True)
    assert _audit(app)[-3:] == ["scenario.activated", "scenario.paused", "scenario.resumed"]


@pytest.mark.parametrize(
    "role, list_status, new_status", [("analyst", 200, 403), ("editor", 403, 403), ("admin", 200, 200)]
)
def test_who_may_see_and_build(app, role, list_status, new_status):
    scenario_id = make_scenario(app, steps=[{"template_id": make_template(app)}])
    client = signed_in_client(app, role)
    assert client.get("/scenarios").status_code == list_status
    assert client.get(f"/scenarios/{scenario_id}").status_code == list_status
    assert client.get("/scenarios/new").status_code == new_status


def test_a_step_cannot_change_without_the_csrf_token(app):
    scenario_id = make_scenario(app, steps=[{"template_id": make_template(app)}] * 2, status="draft")
    client = signed_in_client(app, "marketer")
    with session_scope(get_engine(app)) as session:
        first = session.exec(
            select(ScenarioStep).where(ScenarioStep.scenario_id == scenario_id, ScenarioStep.position == 1)
        ).one()
    response = client.post(f"/scenarios/{scenario_id}/steps/{first.id}/down", data={})
    assert response.status_code in (302, 400)
    with session_scope(get_engine(app)) as session:
        assert session.get(ScenarioStep, first.id).position == 1


def _enrolments(app, scenario_id: int) -> list[Enrolment]:
    with session_scope(get_engine(app)) as session:
        return list(session.exec(select(Enrolment).where(Enrolment.scenario_id == scenario_id)))


def test_bulk_enrolment_shows_the_count_then_enrols_and_audits(app):
    scenario_id = make_scenario(app, steps=[{"template_id": make_template(app)}])
    with session_scope(get_engine(app)) as session:
        tag = Tag(name="VIP")
        session.add(tag)
        session.flush()
        segment = Segment(name="VIP", tree=f'{{"type": "tag", "tag_id": {tag.id}}}')
        session.add(segment)
        session.flush()
        segment_id = segment.id
    for n in (1, 2):
        friend = make_friend(app, n=n)
        with session_scope(get_engine(app)) as session:
            session.add(FriendTag(friend_id=friend, tag_id=tag.id, added_by="test"))
    client = signed_in_client(app, "marketer")
    page = f"/scenarios/{scenario_id}/enrol"
    html = _post(client, page, page, {"segment": str(segment_id)}).get_data(as_text=True)
    assert 'data-count="2"' in html and _enrolments(app, scenario_id) == []
    stale = _post(client, page, page, {"segment": str(segment_id), "confirmed_count": "5"})
    assert stale.status_code == 200 and _enrolments(app, scenario_id) == []
    response = _post(client, page, page, {"segment": str(segment_id), "confirmed_count": "2"})
    assert response.status_code == 302
    enrolled = _enrolments(app, scenario_id)
    assert len(enrolled) == 2 and all(e.trigger_key.startswith(f"segment:{segment_id}:") for e in enrolled)
    assert "scenario.segment_enrolled" in _audit(app)


def test_the_friend_page_shows_the_next_step_in_tokyo_time_and_stops_it(app):
    scenario_id = make_scenario(app, name="ようこそ", steps=[{"template_id": make_template(app)}] * 2)
    friend_id = make_friend(app)
    with session_scope(get_engine(app)) as session:
        due = datetime(2026, 3, 1, 1, 0, tzinfo=UTC)  # 10:00 in Tokyo
        session.add(
            Enrolment(scenario_id=scenario_id, friend_id=friend_id, trigger_key="t", next_position=2, next_due_at=due)
        )
        session.add(
            Enrolment(
                scenario_id=make_scenario(app, name="春のキャンペーン"),
                friend_id=friend_id,
                trigger_key="u",
                status="exited",
                exit_reason="opted_out",
            )
        )
    client = signed_in_client(app, "marketer")
    html = client.get(f"/friends/{friend_id}").get_data(as_text=True)
    card = html[html.index('id="scenarios"') :]
    assert "ステップ2" in card and "2026/03/01 10:00" in card
    assert "春のキャンペーン" in card and "配信停止" in card
    response = _post(client, f"/friends/{friend_id}", f"/scenarios/{scenario_id}/friends/{friend_id}/stop", {})
    assert response.status_code == 302 and response.headers["Location"].endswith("#scenarios")
    [stopped] = _enrolments(app, scenario_id)
    assert (stopped.status, stopped.exit_reason) == ("exited", "staff")
    with session_scope(get_engine(app)) as session:
        entry = session.exec(select(AuditEntry).where(AuditEntry.action == "scenario.removed")).one()
    assert entry.actor == "staff:marketer@example.com"


def test_a_test_run_sends_every_step_to_the_test_friends_marked(app, sim, crm_server):
    user_id = sim.create_user("店長")
    sim.follow(user_id)
    with session_scope(get_engine(app)) as session:
        session.add(broadcast_models.TestFriend(friend_id=friend_id_of(app, user_id), label="店長"))
    steps = [
        {"template_id": make_template(app, [{"type": "text", "text": "ステップ1 ご登録ありがとうございます"}])},
        {
            "variants": [
                {"label": "A", "weight": 1, "template_id": make_template(app, [{"type": "text", "text": "2A"}])},
                {"label": "B", "weight": 1, "template_id": make_template(app, [{"type": "text", "text": "2B"}])},
            ]
        },
    ]
    scenario_id = make_scenario(app, steps=steps, status="draft")
    client = signed_in_client(app, "marketer")
    response = _post(client, f"/scenarios/{scenario_id}", f"/scenarios/{scenario_id}/test-run", {})
    assert response.status_code == 200
    assert response.get_data(as_text=True).count('data-ok="yes"') == 3
    texts = [entry["messages"][0]["text"] for entry in sim.inbox(user_id)]
    assert texts == ["[テスト] ステップ1 ご登録ありがとうございます", "[テスト] 2A", "[テスト] 2B"]
    with session_scope(get_engine(app)) as session:
        assert session.exec(select(Enrolment)).first() is None  # a test run enrols nobody
