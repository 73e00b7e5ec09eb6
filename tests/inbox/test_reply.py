"""Replies from the chat page through the real LINE simulator: JSON for the page's script, a redirect without it,
errors kept beside the text, and the quota as LINE counts it after the send."""

import re

import pytest

from tests.console_helpers import signed_in_client
from tests.factories import friend_id_of
from tests.friends.test_page import audit_entries

RETRY_KEY = re.compile(r'name="retry_key"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="retry_key"')
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
JSON = {"Accept": "application/json"}


@pytest.fixture
def line(sim, crm_server):
    return sim


def _form(client, friend_id: int, text: str) -> dict:
    html = client.get(f"/chat/{friend_id}").get_data(as_text=True)
    key = RETRY_KEY.search(html)
    return {"csrf_token": CSRF.search(html).group(1), "retry_key": key.group(1) or key.group(2), "text": text}


def _friend(line, app) -> tuple[str, int]:
    user = line.create_user("Hanako")
    line.follow(user)
    return user, friend_id_of(app, user)


def test_a_reply_answers_json_with_a_fresh_key_and_the_new_quota(app, line):
    line.set_quota(500, total_usage=7)
    user, friend_id = _friend(line, app)
    client = signed_in_client(app, "staff", locale="en")
    form = _form(client, friend_id, "Thanks!")
    body = client.post(f"/chat/{friend_id}/reply", data=form, headers=JSON).get_json()
    assert body["ok"] and body["notice"] == "Message sent." and body["retry_key"] != form["retry_key"]
    assert "8 of 500 used" in body["quota_html"]
    assert [m["text"] for entry in line.inbox(user) for m in entry["messages"]] == ["Thanks!"]
    again = client.post(f"/chat/{friend_id}/reply", data=form, headers=JSON).get_json()
    assert again["notice"] == "This message had already been sent." and len(line.inbox(user)) == 1
    assert len(audit_entries(app, "chat.sent")) == 1


def test_without_the_script_a_reply_redirects_back_to_the_conversation(app, line):
    user, friend_id = _friend(line, app)
    client = signed_in_client(app, "staff", locale="en")
    response = client.post(f"/chat/{friend_id}/reply", data=_form(client, friend_id, "Hello"))
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/chat/{friend_id}#talk")
    assert "Message sent." in client.get(f"/chat/{friend_id}").get_data(as_text=True)


def test_a_refused_reply_keeps_the_text_and_says_why(app, line):
    user, friend_id = _friend(line, app)
    client = signed_in_client(app, "staff", locale="en")
    line.set_fault(endpoint="/v2/bot/message/push", status=400)
    form = _form(client, friend_id, "Not this time")
    refused = client.post(f"/chat/{friend_id}/reply", data=form, headers=JSON)
    assert refused.status_code == 502 and not refused.get_json()["ok"] and "HTTP 400" in refused.get_json()["error"]
    page = client.post(f"/chat/{friend_id}/reply", data={**form, "text": ""})
    assert page.status_code == 400 and "Write a message first." in page.get_data(as_text=True)
    assert line.inbox(user) == []
    line.unfollow(user)
    blocked = client.post(f"/chat/{friend_id}/reply", data=form, headers=JSON)
    assert blocked.status_code == 400 and "blocked" in blocked.get_json()["error"]
