"""The console and the API with the enrolment service and action engine: enrol by API and by segment, stop from
the friend page, and a step's actions through the shared editor."""

from sqlmodel import select

from crm.db import get_engine, session_scope
from crm.scenarios.models import Enrolment, ScenarioStep
from crm.segments.models import Segment
from crm.staff.models import AuditEntry
from crm.tags.models import FriendTag, Tag
from tests.api.helpers import api_client
from tests.console_helpers import csrf_token, signed_in_client
from tests.factories import make_friend, make_scenario, make_template


def _post(client, page: str, path: str, data: dict):
    return client.post(path, data={**data, "csrf_token": csrf_token(client, page)})


def _scenario(app) -> int:
    template = make_template(app)
    return make_scenario(app, steps=[{"template_id": template, "delay_minutes": 60}, {"template_id": template}])


def _audited(app, action: str) -> list[str]:
    with session_scope(get_engine(app)) as session:
        return [e.actor for e in session.exec(select(AuditEntry).where(AuditEntry.action == action))]


def test_the_api_enrols_refuses_and_removes_through_the_enrolment_service(app):
    scenario_id, friend_id = _scenario(app), make_friend(app)
    client = api_client(app, "marketer")
    path = f"/api/v1/scenarios/{scenario_id}/enrolments"
    enrolled = client.post(path, json={"friend_id": friend_id}).get_json()
    assert (enrolled["result"], enrolled["held_out"], enrolled["reason"]) == ("enrolled", False, None)
    refused = client.post(path, json={"friend_id": friend_id}).get_json()
    assert (refused["result"], refused["reason"]) == ("refused", "already_enrolled")
    assert client.delete(f"{path}/{friend_id}").status_code == 204
    with session_scope(get_engine(app)) as session:
        enrolment = session.get(Enrolment, enrolled["enrolment_id"])
        assert (enrolment.status, enrolment.exit_reason) == ("exited", "staff")
    assert _audited(app, "scenario.enrolled") == ["api:marketer integration#1"]
    assert _audited(app, "scenario.removed") == ["api:marketer integration#1"]
    once = client.post(path, json={"friend_id": friend_id}).get_json()  # rule "once": never again
    assert (once["result"], once["reason"]) == ("refused", "enrolment_rule")


def test_a_segment_is_enrolled_from_the_console_and_a_friend_stopped_from_the_friend_page(app):
    scenario_id = _scenario(app)
    friends = [make_friend(app, n=n) for n in (1, 2, 3)]
    with session_scope(get_engine(app)) as session:
        tag = Tag(name="VIP")
        session.add(tag)
        session.flush()
        session.add_all(FriendTag(friend_id=f, tag_id=tag.id, added_by="test") for f in friends[:2])
        segment = Segment(name="VIP", tree=f'{{"type": "tag", "tag_id": {tag.id}}}')
        session.add(segment)
        session.flush()
        segment_id = segment.id
    client = signed_in_client(app, "marketer")
    page = f"/scenarios/{scenario_id}/enrol"
    assert _post(client, page, page, {"segment": str(segment_id), "confirmed_count": "2"}).status_code == 302
    assert "2人を登録しました。" in client.get(f"/scenarios/{scenario_id}").get_data(as_text=True)
    card = client.get(f"/friends/{friends[0]}").get_data(as_text=True)
    assert "次：ステップ1" in card
    stop = f"/scenarios/{scenario_id}/friends/{friends[0]}/stop"
    assert _post(client, f"/friends/{friends[0]}", stop, {}).status_code == 302
    with session_scope(get_engine(app)) as session:
        states = sorted(session.exec(select(Enrolment.status, Enrolment.exit_reason)).all())
    assert states == [("active", None), ("exited", "staff")]
    assert _audited(app, "scenario.removed") == ["staff:marketer@example.com"]


def test_a_step_runs_actions_chosen_in_the_shared_editor(app):
    template = make_template(app)
    with session_scope(get_engine(app)) as session:
        tag = Tag(name="ステップ1通過")
        session.add(tag)
        session.flush()
        tag_id = tag.id
    scenario_id = make_scenario(app, status="draft")
    client = signed_in_client(app, "marketer")
    page = f"/scenarios/{scenario_id}/steps/new"
    assert 'name="actions-0-type"' in client.get(page).get_data(as_text=True)
    data = {"timing_kind": "elapsed", "delay_amount": "0", "variants-0-template_id": str(template)}
    data |= {"actions-0-type": "add_tag", "actions-0-add_tag-tag_id": str(tag_id)}
    assert _post(client, page, page, data).status_code == 302
    with session_scope(get_engine(app)) as session:
        step = session.exec(select(ScenarioStep).where(ScenarioStep.scenario_id == scenario_id)).one()
        assert step.actions == f'[{{"type": "add_tag", "tag_id": {tag_id}}}]'
    html = client.get(f"/scenarios/{scenario_id}").get_data(as_text=True)
    assert "ステップ1通過" in html
