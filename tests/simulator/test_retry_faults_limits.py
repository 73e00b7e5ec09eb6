"""Retry keys, reply tokens, rate limits and injected faults."""

from __future__ import annotations

import time
import uuid

import pytest
import requests

RETRY = "X-Line-Retry-Key"


def test_repeated_retry_key_answers_409_with_the_original_request_id_and_delivers_once(line_api, control, friend):
    key = str(uuid.uuid4())
    first = line_api.push_text(friend, headers={RETRY: key})
    again = line_api.push_text(friend, headers={RETRY: key})
    assert first.status_code == 200
    assert again.status_code == 409
    assert again.json() == {
        "message": "The retry key is already accepted",
        "sentMessages": first.json()["sentMessages"],
    }
    assert again.headers["x-line-accepted-request-id"] == first.headers["X-Line-Request-Id"]
    assert again.headers["X-Line-Request-Id"] != first.headers["X-Line-Request-Id"]
    [entry] = control.inbox(friend)
    assert entry["retryKey"] == key


def test_repeated_retry_key_on_multicast_has_no_sent_messages(line_api, control, friend):
    key = str(uuid.uuid4())
    body = {"to": [friend], "messages": [{"type": "text", "text": "m"}]}
    assert line_api.post("/v2/bot/message/multicast", body, headers={RETRY: key}).status_code == 200
    again = line_api.post("/v2/bot/message/multicast", body, headers={RETRY: key})
    assert again.status_code == 409 and again.json() == {"message": "The retry key is already accepted"}
    assert len(control.inbox(friend)) == 1


def test_retry_key_must_be_a_uuid(line_api, control, friend):
    response = line_api.push_text(friend, headers={RETRY: "not-a-uuid"})
    assert response.status_code == 400
    assert control.inbox(friend) == []


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/v2/bot/message/reply"), ("GET", "/v2/bot/profile/{user}"), ("GET", "/v2/bot/message/quota")],
)
def test_retry_key_is_refused_where_line_does_not_support_it(line_api, friend, method, path):
    response = line_api.call(
        method,
        path.format(user=friend),
        headers={RETRY: str(uuid.uuid4())},
        json={"replyToken": "x", "messages": [{"type": "text", "text": "t"}]},
    )
    assert response.status_code == 400
    assert "X-Line-Retry-Key" in response.json()["message"]


def test_failed_request_does_not_spend_the_retry_key(line_api, control, friend):
    control.set_fault("push", "error", count=1)
    key = str(uuid.uuid4())
    assert line_api.push_text(friend, headers={RETRY: key}).status_code == 500
    assert line_api.push_text(friend, headers={RETRY: key}).status_code == 200
    assert line_api.push_text(friend, headers={RETRY: key}).status_code == 409
    assert len(control.inbox(friend)) == 1


def test_reply_token_is_single_use(line_api, control, receiver):
    user_id = control.create_user("Replier")
    token = control.follow(user_id)["event"]["replyToken"]
    body = {"replyToken": token, "messages": [{"type": "text", "text": "welcome"}]}
    first = line_api.post("/v2/bot/message/reply", body)
    assert first.status_code == 200 and len(first.json()["sentMessages"]) == 1
    again = line_api.post("/v2/bot/message/reply", body)
    assert again.status_code == 400 and again.json() == {"message": "Invalid reply token"}
    assert [entry["api"] for entry in control.inbox(user_id)] == ["reply"]


def test_reply_token_expires(line_api, control):
    control.configure(replyTokenTtlSeconds=0.2)
    user_id = control.create_user("Slow")
    token = control.follow(user_id)["event"]["replyToken"]
    time.sleep(0.3)
    body = {"replyToken": token, "messages": [{"type": "text", "text": "x"}]}
    response = line_api.post("/v2/bot/message/reply", body)
    assert response.status_code == 400 and response.json() == {"message": "Invalid reply token"}


def test_invalid_reply_body_does_not_spend_the_token(line_api, control, friend):
    token = control.send_text(friend, "hi")["event"]["replyToken"]
    assert line_api.post("/v2/bot/message/reply", {"replyToken": token, "messages": []}).status_code == 400
    ok = line_api.post("/v2/bot/message/reply", {"replyToken": token, "messages": [{"type": "text", "text": "x"}]})
    assert ok.status_code == 200


def test_unknown_reply_token_is_invalid(line_api):
    response = line_api.post(
        "/v2/bot/message/reply", {"replyToken": "0" * 32, "messages": [{"type": "text", "text": "x"}]}
    )
    assert response.json() == {"message": "Invalid reply token"}


def test_rate_limit_answers_429_per_endpoint(line_api, control, friend):
    control.set_rate_limit(2, "push")
    statuses = [line_api.push_text(friend).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    assert line_api.push_text(friend).json() == {"message": "Too Many Requests"}
    assert line_api.get(f"/v2/bot/profile/{friend}").status_code == 200
    time.sleep(1.05)
    assert line_api.push_text(friend).status_code == 200


def test_global_rate_limit_from_config_applies_to_each_endpoint(line_api, control, friend):
    control.set_rate_limit(1)
    assert line_api.push_text(friend).status_code == 200
    assert line_api.get(f"/v2/bot/profile/{friend}").status_code == 200
    assert line_api.push_text(friend).status_code == 429
    control.set_rate_limit(None)
    assert line_api.push_text(friend).status_code == 200


def test_fault_fails_the_next_n_requests_only(line_api, control, friend):
    control.set_fault("profile", "error", count=2)
    path = f"/v2/bot/profile/{friend}"
    assert [line_api.get(path).status_code for _ in range(3)] == [500, 500, 200]
    assert line_api.push_text(friend).status_code == 200


def test_fault_until_cleared_and_wildcard(line_api, control, friend):
    control.set_fault("*", "error", count=None, status=503)
    assert line_api.push_text(friend).status_code == 503
    assert line_api.get("/v2/bot/message/quota").status_code == 503
    control.clear_faults()
    assert line_api.push_text(friend).status_code == 200


def test_faults_apply_after_auth(line_api, control, friend):
    control.set_fault("push", "error", count=1)
    assert line_api.push_text(friend, token="wrong").status_code == 401
    assert line_api.push_text(friend).status_code == 500


def test_stall_answers_normally_but_late_after_delivering(line_api, control, friend):
    control.set_fault("push", "stall", count=1, stall_seconds=0.5)
    started = time.monotonic()
    response = line_api.push_text(friend)
    assert time.monotonic() - started >= 0.5
    assert response.status_code == 200
    assert len(control.inbox(friend)) == 1


def test_stall_then_error_delivers_nothing(line_api, control, friend):
    control.set_fault("multicast", "stall_error", count=1, stall_seconds=0.3)
    started = time.monotonic()
    response = line_api.post("/v2/bot/message/multicast", {"to": [friend], "messages": [{"type": "text", "text": "m"}]})
    assert time.monotonic() - started >= 0.3
    assert response.status_code == 500
    assert control.inbox(friend) == []


def test_stalled_push_retried_with_same_key_is_not_delivered_twice(line_api, control, friend):
    control.set_fault("push", "stall", count=1, stall_seconds=1.0)
    key = str(uuid.uuid4())
    with pytest.raises(requests.exceptions.ReadTimeout):
        line_api.call(
            "POST",
            "/v2/bot/message/push",
            headers={RETRY: key},
            timeout=0.3,
            json={"to": friend, "messages": [{"type": "text", "text": "once"}]},
        )
    retry = line_api.push_text(friend, "once", headers={RETRY: key})
    assert retry.status_code == 409
    assert len(control.inbox(friend)) == 1
