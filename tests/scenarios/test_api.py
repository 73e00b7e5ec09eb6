"""/api/v1/scenarios: listed with counts, read with steps and statistics, friends enrolled and removed through
the enrolment service, every change audited with the token as the actor."""

from sqlmodel import select

from crm.db import get_engine, session_scope
from crm.scenarios.models import Enrolment
from crm.staff.models import AuditEntry
from tests.api.helpers import api_client
from tests.factories import line_user_id, make_friend, make_scenario, make_template


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
    [row] = [row for row in listed["data"] if row["id"] == scenario_id]
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


def _audited(app, action: str) -> list[AuditEntry]:
    with session_scope(get_engine(app)) as session:
        return list(session.exec(select(AuditEntry).where(AuditEntry.action == action)))


def test_a_friend_is_enrolled_by_id_or_line_user_id_and_refused_with_a_reason(app):
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
    assert client.post(path, json={"friend_id": 999}).status_code == 404
    assert client.post(path, json={"friend_id": friend_id, "line_user_id": line_user_id(7)}).status_code == 422
    assert client.post(path, json={}).status_code == 422
    assert api_client(app, "analyst").post(path, json={"friend_id": friend_id}).status_code == 403
    [entry] = _audited(app, "scenario.enrolled")  # the refused second call changed nothing
    assert entry.actor == "api:marketer integration#1" and entry.target_id == str(friend_id)


def test_a_friend_is_removed_and_a_friend_not_in_it_is_404(app):
    scenario_id = _scenario(app)
    friend_id = make_friend(app)
    client = api_client(app, "marketer")
    path = f"/api/v1/scenarios/{scenario_id}/enrolments/{friend_id}"
    assert client.delete(path).status_code == 404
    client.post(f"/api/v1/scenarios/{scenario_id}/enrolments", json={"friend_id": friend_id})
    assert client.delete(path).status_code == 204
    assert [entry.actor for entry in _audited(app, "scenario.removed")] == ["api:marketer integration#1"]
    with session_scope(get_engine(app)) as session:
        assert session.exec(select(Enrolment).where(Enrolment.friend_id == friend_id)).one().exit_reason == "staff"
    assert client.delete(path).status_code == 404


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
