"""Tokens, error bodies, masking, pagination, audit attribution — through the real app and database."""

from __future__ import annotations

import json

import pytest
from sqlmodel import select

from crm.db import get_engine, session_scope
from crm.friends.models import Friend
from crm.staff import api_tokens
from crm.staff.models import ApiToken, AuditEntry
from crm.tags.models import FriendTag
from crm.timeutil import utcnow
from tests.api.helpers import SYSTEM, api_client, bearer, seed
from tests.factories import make_token


def _error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    if code:
        assert body["error"]["code"] == code
    return body["error"]


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer nope", "Basic abc", "Bearer lcrm_" + "x" * 43])
def test_missing_or_unknown_token_is_401(app, header):
    headers = {"Authorization": header} if header else {}
    response = app.test_client().get("/api/v1/tags", headers=headers)
    _error(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_token_secret_is_stored_hashed_and_works_until_revoked(app):
    secret = make_token(app, "admin")
    client = app.test_client()
    assert client.get("/api/v1/tags", headers=bearer(secret)).status_code == 200
    with session_scope(get_engine(app)) as session:
        token = session.exec(select(ApiToken)).one()
        assert secret not in (token.token_hash, token.prefix) and token.token_hash == api_tokens.hash_secret(secret)
        api_tokens.revoke_token(session, token_id=token.id, actor=SYSTEM, now=utcnow())
    _error(client.get("/api/v1/tags", headers=bearer(secret)), 401, "unauthorized")


def test_last_used_time_is_remembered(app):
    secret = make_token(app, "analyst")
    with session_scope(get_engine(app)) as session:
        assert session.exec(select(ApiToken)).one().last_used_at is None
    app.test_client().get("/api/v1/tags", headers=bearer(secret))
    with session_scope(get_engine(app)) as session:
        assert session.exec(select(ApiToken)).one().last_used_at is not None


def test_changes_are_attributed_to_the_token_in_the_audit_log(app):
    ids = seed(app)
    client = api_client(app, "staff")
    assert client.post(f"/api/v1/friends/{ids['friend_id']}/notes", json={"body": "called"}).status_code == 201
    assert client.put(f"/api/v1/friends/{ids['friend_id']}/tags/{ids['other_tag_id']}").status_code == 200
    with session_scope(get_engine(app)) as session:
        token = session.exec(select(ApiToken)).one()
        actions = {e.action: e.actor for e in session.exec(select(AuditEntry))}
    assert actions["note.created"] == actions["friend.tag_added"] == f"api:staff integration#{token.id}"


def test_unknown_paths_and_methods_answer_json(app):
    client = api_client(app, "admin")
    _error(client.get("/api/v1/no-such-thing"), 404, "not_found")
    _error(client.get("/api/v1/friends/99999"), 404, "not_found")
    _error(client.get("/api/v1/friends/99999999999999999999"), 404, "not_found")
    error = _error(client.open("PUT", "/api/v1/tags"), 405, "method_not_allowed")
    assert error["message"]


def test_bad_bodies_never_500(app):
    ids = seed(app)
    client = api_client(app, "admin")
    url = "/api/v1/tags"
    _error(client.post(url, data="{not json", content_type="application/json"), 400, "bad_request")
    assert "name" in _error(client.post(url, json={"name": 5}), 422, "invalid")["details"]["json"]
    _error(client.post(url, json=["a list"]), 422, "invalid")
    _error(client.post(url, json={"name": "x", "unknown": 1}), 422, "invalid")
    _error(client.post(url, json={"name": "nul\u0000byte"}), 422, "invalid")
    _error(client.post(url, data='{"name": "\\ud800"}', content_type="application/json"), 422, "invalid")
    _error(
        client.post(url, data=json.dumps({"name": "x" * (2 * 1024 * 1024)}), content_type="application/json"),
        413,
        "payload_too_large",
    )
    _error(client.post(url, data="name=x"), 422, "invalid")
    note_url = f"/api/v1/friends/{ids['friend_id']}/notes"
    _error(client.post(note_url, json={"body": "   "}), 422, "invalid")


def test_tag_lifecycle_with_conflict(app):
    client = api_client(app, "marketer")
    created = client.post("/api/v1/tags", json={"name": "Gold", "color": "#AABBCC"})
    assert created.status_code == 201 and created.get_json()["color"] == "#aabbcc"
    tag_id = created.get_json()["id"]
    _error(client.post("/api/v1/tags", json={"name": "ＧＯＬＤ"}), 409, "duplicate_name")
    renamed = client.patch(f"/api/v1/tags/{tag_id}", json={"name": "Platinum"})
    assert renamed.get_json()["name"] == "Platinum" and renamed.get_json()["color"] == "#aabbcc"
    _error(client.patch(f"/api/v1/tags/{tag_id}", json={"color": "red"}), 422, "invalid_color")
    assert client.delete(f"/api/v1/tags/{tag_id}").get_json() == {"friends_untagged": 0}
    _error(client.delete(f"/api/v1/tags/{tag_id}"), 404, "not_found")


def test_friend_tags_are_idempotent(app):
    ids = seed(app)
    client = api_client(app, "staff")
    url = f"/api/v1/friends/{ids['friend_id']}/tags/{ids['other_tag_id']}"
    assert client.put(url).get_json() == {"changed": True}
    assert client.put(url).get_json() == {"changed": False}
    assert client.delete(url).get_json() == {"changed": True}
    assert client.delete(url).get_json() == {"changed": False}
    _error(client.put(f"/api/v1/friends/{ids['friend_id']}/tags/999"), 404, "not_found")
    with session_scope(get_engine(app)) as session:
        assert [t.tag_id for t in session.exec(select(FriendTag))] == [ids["tag_id"]]


def test_fields_set_and_clear_through_the_service(app):
    ids = seed(app)
    client = api_client(app, "staff")
    base = f"/api/v1/friends/{ids['friend_id']}/fields"
    assert client.put(f"{base}/points", json={"value": "１２"}).get_json()["value"] == "12"
    assert "value" in _error(client.put(f"{base}/points", json={"value": "many"}), 422, "invalid")["details"]
    _error(client.delete(f"{base}/points"), 422, "invalid")  # a required field cannot be emptied
    assert client.put(f"{base}/plan", json={"value": "gold"}).status_code == 200
    assert client.delete(f"{base}/plan").get_json() == {"changed": True}
    assert client.delete(f"{base}/plan").get_json() == {"changed": False}
    _error(client.put(f"{base}/nope", json={"value": "x"}), 404, "not_found")
    detail = client.get(f"/api/v1/friends/{ids['friend_id']}").get_json()
    assert {f["key"]: f["value"] for f in detail["fields"]} == {"plan": None, "points": "12"}


def test_analysts_see_masked_personal_data(app):
    ids = seed(app)
    full = api_client(app, "staff").get(f"/api/v1/friends/{ids['friend_id']}").get_json()
    masked = api_client(app, "analyst").get(f"/api/v1/friends/{ids['friend_id']}").get_json()
    assert full["display_name"] == "山田花子" and full["notes"][0]["body"] == "prefers evening calls"
    assert full["line_user_id"] and full["picture_url"] and full["tags"][0]["name"] == "VIP"
    assert masked["display_name"] == "山＊＊" and masked["notes"][0]["body"] is None
    assert masked["line_user_id"] is None and masked["picture_url"] is None
    listed = api_client(app, "analyst").get("/api/v1/friends").get_json()["data"]
    assert [f["display_name"] for f in listed] == ["山＊＊"]


def test_roles_that_see_masked_names_cannot_search_by_name(app):
    seed(app)
    searched = api_client(app, "analyst").get("/api/v1/friends", query_string={"q": "花子"})
    assert searched.status_code == 403 and searched.get_json()["error"]["code"] == "forbidden"
    found = api_client(app, "staff").get("/api/v1/friends", query_string={"q": "花子"}).get_json()["data"]
    assert [f["display_name"] for f in found] == ["山田花子"]


def test_friend_list_pages_and_filters(app):
    ids = seed(app)
    with session_scope(get_engine(app)) as session:
        session.add_all(
            [Friend(line_user_id=f"U{n:032d}", display_name=f"Friend {n}", last_followed_at=utcnow()) for n in range(7)]
        )
    client = api_client(app, "admin")
    seen, cursor = [], None
    while True:
        body = client.get("/api/v1/friends", query_string={"limit": 3, **({"cursor": cursor} if cursor else {})})
        body = body.get_json()
        seen += [f["id"] for f in body["data"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 8
    tagged = client.get("/api/v1/friends", query_string={"tag_all": ids["tag_id"]}).get_json()["data"]
    assert [f["id"] for f in tagged] == [ids["friend_id"]]
    named = client.get("/api/v1/friends", query_string={"q": "Friend 3"}).get_json()["data"]
    assert [f["display_name"] for f in named] == ["Friend 3"]
    _error(client.get("/api/v1/friends", query_string={"tag_all": 9999}), 422, "unknown_tag")
    _error(client.get("/api/v1/friends", query_string={"cursor": "garbage"}), 400, "bad_cursor")
    _error(client.get("/api/v1/friends", query_string={"limit": 0}), 422, "invalid")
    with session_scope(get_engine(app)) as session:
        assert session.exec(select(AuditEntry).where(AuditEntry.action == "friends.list_viewed")).first()


def test_tag_and_note_lists_page_by_cursor(app):
    ids = seed(app)
    client = api_client(app, "admin")
    for n in range(4):
        client.post("/api/v1/tags", json={"name": f"T{n}"})
        client.post(f"/api/v1/friends/{ids['friend_id']}/notes", json={"body": f"note {n}"})
    first = client.get("/api/v1/tags", query_string={"limit": 4}).get_json()
    second = client.get("/api/v1/tags", query_string={"limit": 4, "cursor": first["next_cursor"]}).get_json()
    assert len(first["data"]) == 4 and len(second["data"]) == 2 and second["next_cursor"] is None
    notes = f"/api/v1/friends/{ids['friend_id']}/notes"
    page1 = client.get(notes, query_string={"limit": 3}).get_json()
    page2 = client.get(notes, query_string={"limit": 3, "cursor": page1["next_cursor"]}).get_json()
    assert [n["body"] for n in page1["data"] + page2["data"]] == [
        "note 3",
        "note 2",
        "note 1",
        "note 0",
        "prefers evening calls",
    ]
    _error(client.get("/api/v1/tags", query_string={"cursor": "-1"}), 400, "bad_cursor")
