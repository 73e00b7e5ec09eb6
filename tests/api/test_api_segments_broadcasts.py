"""Segments and broadcasts through the API: thin endpoints over the segments and broadcast lifecycle services."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from crm.broadcasts.models import Broadcast
from crm.db import get_engine, session_scope
from crm.friends.models import Friend, FriendStatus
from crm.staff.models import AuditEntry
from crm.timeutil import utcnow
from tests.api.helpers import api_client, seed


def _blocked_friend(app):
    with session_scope(get_engine(app)) as session:
        session.add(Friend(line_user_id="U" + "c" * 32, display_name="Gone", status=FriendStatus.BLOCKED))


def test_count_a_condition_tree(app):
    ids = seed(app)
    _blocked_friend(app)
    client = api_client(app, "analyst")
    body = client.post("/api/v1/segments/count", json={"tree": {"type": "all", "conditions": []}}).get_json()
    assert (body["count"], body["all"]) == (1, 2)
    tagged = {"type": "all", "conditions": [{"type": "tag", "tag_id": ids["tag_id"]}]}
    assert client.post("/api/v1/segments/count", json={"tree": tagged}).get_json()["count"] == 1
    bad = client.post(
        "/api/v1/segments/count", json={"tree": {"type": "all", "conditions": [{"type": "tag", "tag_id": 999}]}}
    )
    assert bad.status_code == 422 and bad.get_json()["error"]["code"] == "invalid_tree"
    assert "conditions[0]" in str(bad.get_json()["error"]["details"])
    assert client.post("/api/v1/segments/count", json={"tree": "all"}).status_code == 422


def test_deeply_nested_json_is_refused_not_crashed(app):
    client = api_client(app, "analyst")
    deep = '{"tree": ' + "[" * 100000 + "]" * 100000 + "}"
    response = client.post("/api/v1/segments/count", data=deep, content_type="application/json")
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "bad_request"


def test_saved_segments_are_listed_with_counts(app):
    from crm.segments import service as segments
    from tests.api.helpers import SYSTEM

    seed(app)
    with session_scope(get_engine(app)) as session:
        segments.create_segment(session, actor=SYSTEM, name="Everyone", tree={"type": "all", "conditions": []})
    listed = api_client(app, "marketer").get("/api/v1/segments").get_json()
    assert [(s["name"], s["count"]) for s in listed] == [("Everyone", 1)]


def test_broadcast_create_schedule_status_statistics_cancel(app):
    ids = seed(app)
    client = api_client(app, "marketer")
    created = client.post(
        "/api/v1/broadcasts",
        json={
            "name": "Spring sale",
            "messages": [{"type": "text", "text": "Sale today"}],
            "segment_tree": {"type": "all", "conditions": [{"type": "tag", "tag_id": ids["tag_id"]}]},
        },
    )
    assert created.status_code == 201, created.get_json()
    broadcast = created.get_json()
    assert broadcast["status"] == "draft" and broadcast["messages"][0]["text"] == "Sale today"
    at = (utcnow() + timedelta(days=1)).isoformat()
    scheduled = client.post(f"/api/v1/broadcasts/{broadcast['id']}/schedule", json={"at": at}).get_json()
    assert scheduled["status"] == "scheduled" and scheduled["estimated_recipients"] == 1
    again = client.post(f"/api/v1/broadcasts/{broadcast['id']}/schedule", json={})
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "conflict"
    assert client.get(f"/api/v1/broadcasts/{broadcast['id']}").get_json()["status"] == "scheduled"
    stats = client.get(f"/api/v1/broadcasts/{broadcast['id']}/statistics").get_json()
    assert stats["status"] == "scheduled" and stats["recipients"] == 0 and stats["goal"] is None
    listed = client.get("/api/v1/broadcasts", query_string={"limit": 1}).get_json()
    assert [b["id"] for b in listed["data"]] == [broadcast["id"]] and listed["next_cursor"] == str(broadcast["id"])
    rest = client.get("/api/v1/broadcasts", query_string={"limit": 1, "cursor": listed["next_cursor"]}).get_json()
    assert [b["name"] for b in rest["data"]] == ["Seeded draft"] and rest["next_cursor"] is None
    cancelled = client.post(f"/api/v1/broadcasts/{broadcast['id']}/cancel").get_json()
    assert cancelled["status"] == "cancelled"
    assert client.post(f"/api/v1/broadcasts/{broadcast['id']}/cancel").status_code == 409
    with session_scope(get_engine(app)) as session:
        actors = {
            e.actor
            for e in session.exec(select(AuditEntry).where(AuditEntry.target_type == "broadcast"))
            if e.target_id == str(broadcast["id"])
        }
    assert actors == {"api:marketer integration#1"}


def test_broadcast_errors_point_at_the_field(app):
    seed(app)
    client = api_client(app, "admin")
    empty = client.post("/api/v1/broadcasts", json={"name": "x", "messages": []})
    assert empty.status_code == 422 and "messages" in str(empty.get_json()["error"]["details"])
    past = client.post("/api/v1/broadcasts/1/schedule", json={"at": "2000-01-01T00:00:00+09:00"})
    assert past.status_code == 422 and "scheduled_at" in past.get_json()["error"]["details"]
    assert client.post("/api/v1/broadcasts/999/cancel").status_code == 404
    with session_scope(get_engine(app)) as session:
        assert session.exec(select(Broadcast.status)).all() == ["draft"]
