"""/api/v1/scenarios: listed with counts, read with steps and statistics, friends enrolled and removed through
the runtime's enrolment service (stood in for here), every change audited."""

import sys
import types

import pytest
from sqlmodel import select

from crm.db import get_engine, session_scope
from crm.scenarios.checks import installed
from crm.scenarios.models import Enrolment
from tests.api.helpers import api_client
from tests.factories import line_user_id, make_friend, make_scenario, make_template


@pytest.fixture
def runtime_stub(monkeypatch):
    """crm.scenarios.enrolment as the runtime offers it: enrol writes an enrolment unless one is active."""
    calls = []
    module = types.ModuleType("crm.scenarios.enrolment")

    def enrol(session, *, scenario_id, friend_id, trigger_key, now, actor=None, **_):
        calls.append(("enrol", friend_id, trigger_key, actor.label))
        active = select(Enrolment).where(
            Enrolment.scenario_id == scenario_id, Enrolment.friend_id == friend_id, Enrolment.status == "active"
        )
        if session.exec(active).first() is not None:
            return None
        enrolment = Enrolment(scenario_id=scenario_id, friend_id=friend_id, trigger_key=trigger_key, enrolled_at=now)
        session.add(enrolment)
        session.flush()
        return enrolment

    def remove_friend(session, *, scenario_id, friend_id, reason, actor, now):
        calls.append(("remove_friend", friend_id, reason))
        for enrolment in session.exec(select(Enrolment).where(Enrolment.friend_id == friend_id)):
            enrolment.status, enrolment.exit_reason = "exited", reason

    module.enrol, module.remove_friend = enrol, remove_friend
    monkeypatch.setitem(sys.modules, "crm.scenarios.enrolment", module)
    return calls


def _scenario(app, **values):
    template = make_template(app, [{"type": "text", "text": "ようこそ"}])
    steps = [
        {"template_id": template, "delay_minutes": 0},
        {"template_id": template, "timing_kind": "day_at", "day_offset": 1, "at_minute": 600},
    ]
    return make_scenario(app, steps=steps, **values)


def test_the_list_has_counts_and_one_scenario_has_its_steps_and_figures(app):
    scenario_id = _scenario(app, name="ようこそ")
    friends = [make_friend(app, n=n) for n in range(1, 4)]
    with session_scope(get_engine(app)) as session:
        for friend_id, status in zip(friends, ["active", "completed", "exited"], strict=True):
            session.add(
                Enrolment(
                    scenario_id=scenario_id,
                    friend_id=friend_id,
                    trigger_key=f"t{friend_id}",
                    status=status,
                    exit_reason="goal" if status == "exited" else None,
                )
            )
    client = api_client(app, "analyst")
    listed = client.get("/api/v1/scenarios").get_json()
    [row] = listed["data"]
    assert (row["name"], row["status"], row["counts"]) == (
        "ようこそ",
        "active",
        {"active": 1, "completed": 1, "exited": 1},
    )
    one = client.get(f"/api/v1/scenarios/{scenario_id}").get_json()
    assert [(s["position"], s["timing_kind"], s["at_minute"]) for s in one["steps"]] == [
        (1, "elapsed", None),
        (2, "day_at", 600),
    ]
    assert one["steps"][0]["variants"][0]["label"] == "A" and one["steps"][0]["reached"] == 0
    assert one["exit_reasons"] == [{"reason": "goal", "friends": 1}] and one["goal"] is None
    assert client.get("/api/v1/scenarios/999").status_code == 404
    assert api_client(app, "editor").get("/api/v1/scenarios").status_code == 403


def test_a_friend_is_enrolled_by_id_or_line_user_id_and_refused_with_a_reason(app, runtime_stub):
    scenario_id = _scenario(app)
    friend_id = make_friend(app, n=7)
    client = api_client(app, "marketer")
    path = f"/api/v1/scenarios/{scenario_id}/enrolments"
    first = client.post(path, json={"friend_id": friend_id})
    assert first.status_code == 200
    assert first.get_json() | {"enrolment_id": None} == {
        "result": "enrolled",
        "enrolment_id": None,
        "friend_id": friend_id,
        "held_out": False,
        "reason": None,
    }
    again = client.post(path, json={"line_user_id": line_user_id(7)}).get_json()
    assert (again["result"], again["reason"], again["friend_id"]) == ("refused", "already_enrolled", friend_id)
    assert [call[0] for call in runtime_stub] == ["enrol", "enrol"] and runtime_stub[0][2].startswith("api:")
    assert client.post(path, json={"friend_id": 999}).status_code == 404
    assert client.post(path, json={"friend_id": friend_id, "line_user_id": line_user_id(7)}).status_code == 422
    assert client.post(path, json={}).status_code == 422
    assert api_client(app, "analyst").post(path, json={"friend_id": friend_id}).status_code == 403
    assert runtime_stub[0][3] == "api:marketer integration#1"  # the service audits with the token as actor


def test_a_friend_is_removed_and_a_friend_not_in_it_is_404(app, runtime_stub):
    scenario_id = _scenario(app)
    friend_id = make_friend(app)
    client = api_client(app, "marketer")
    path = f"/api/v1/scenarios/{scenario_id}/enrolments/{friend_id}"
    assert client.delete(path).status_code == 404
    client.post(f"/api/v1/scenarios/{scenario_id}/enrolments", json={"friend_id": friend_id})
    assert client.delete(path).status_code == 204
    assert runtime_stub[-1] == ("remove_friend", friend_id, "staff")
    with session_scope(get_engine(app)) as session:
        assert session.exec(select(Enrolment)).one().exit_reason == "staff"
    assert client.delete(path).status_code == 404


@pytest.mark.skipif(installed("crm.scenarios.enrolment") is not None, reason="the enrolment service is installed")
def test_without_the_runtime_enrolment_answers_409(app):
    scenario_id = _scenario(app)
    friend_id = make_friend(app)
    response = api_client(app, "admin").post(
        f"/api/v1/scenarios/{scenario_id}/enrolments", json={"friend_id": friend_id}
    )
    assert (response.status_code, response.get_json()["error"]["code"]) == (409, "conflict")


def test_the_openapi_document_describes_the_scenario_endpoints(app):
    document = app.test_client().get("/api/v1/openapi.json").get_json()
    paths = document["paths"]
    assert {
        "/api/v1/scenarios",
        "/api/v1/scenarios/{scenario_id}",
        "/api/v1/scenarios/{scenario_id}/enrolments",
    } <= set(paths)
    assert "delete" in paths["/api/v1/scenarios/{scenario_id}/enrolments/{friend_id}"]
    goal = document["components"]["schemas"]["Comparison"]["properties"]
    assert {"difference", "interval", "friends", "enough"} <= set(goal)
