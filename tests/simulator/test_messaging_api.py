"""Messaging API behaviour: auth, validation, delivery, profiles, followers."""

from __future__ import annotations

import uuid

import pytest

from tests.simulator.conftest import TOKEN


def text(value: str) -> dict:
    return {"type": "text", "text": value}


def test_missing_or_wrong_token_is_rejected_with_401(line_api, friend):
    for token in (None, "wrong-token"):
        response = line_api.push_text(friend, token=token)
        assert response.status_code == 401
        assert response.json()["message"].startswith("Authentication failed.")
        uuid.UUID(response.headers["X-Line-Request-Id"])


def test_push_is_delivered_and_recorded_with_its_request_id(line_api, control, friend):
    response = line_api.push_text(friend, "こんにちは")
    assert response.status_code == 200
    sent = response.json()["sentMessages"]
    assert len(sent) == 1 and sent[0]["id"].isdigit() and sent[0]["quoteToken"]
    [entry] = control.inbox(friend)
    assert entry["api"] == "push"
    assert entry["requestId"] == response.headers["X-Line-Request-Id"]
    assert entry["retryKey"] is None
    assert entry["messages"] == [text("こんにちは")]


@pytest.mark.parametrize(
    ("body", "prop", "message"),
    [
        ({"messages": [text("x")] * 6}, "messages", "Size must be between 1 and 5"),
        ({"messages": [text("a" * 4999 + "😀")]}, "messages[0].text", "Length must be between 0 and 5000"),
        ({"messages": [text("")]}, "messages[0].text", "May not be empty"),
        (
            {
                "messages": [
                    {
                        **text("q"),
                        "quickReply": {
                            "items": [{"type": "action", "action": {"type": "message", "label": "l", "text": "t"}}] * 14
                        },
                    }
                ]
            },
            "messages[0].quickReply.items",
            "Size must be between 1 and 13",
        ),
        (
            {
                "messages": [
                    {
                        **text("q"),
                        "quickReply": {
                            "items": [
                                {"type": "action", "action": {"type": "postback", "label": "l", "data": "d" * 301}}
                            ]
                        },
                    }
                ]
            },
            "messages[0].quickReply.items[0].action.data",
            "Length must be between 0 and 300",
        ),
        (
            {
                "messages": [
                    {
                        **text("q"),
                        "quickReply": {
                            "items": [{"type": "action", "action": {"type": "message", "label": "x" * 21, "text": "t"}}]
                        },
                    }
                ]
            },
            "messages[0].quickReply.items[0].action.label",
            "Length must be between 0 and 20",
        ),
        (
            {
                "messages": [
                    {
                        "type": "template",
                        "altText": "a",
                        "template": {
                            "type": "buttons",
                            "text": "t",
                            "actions": [{"type": "uri", "label": "go", "uri": "https://example.com/" + "a" * 1000}],
                        },
                    }
                ]
            },
            "messages[0].template.actions[0].uri",
            "Length must be between 0 and 1000",
        ),
        ({"messages": [{"type": "fax"}]}, "messages[0].type", None),
    ],
)
def test_push_breaking_line_limits_gets_line_error_shape(line_api, control, friend, body, prop, message):
    response = line_api.post("/v2/bot/message/push", {"to": friend, **body})
    assert response.status_code == 400
    error = response.json()
    assert error["message"] == f"The request body has {len(error['details'])} error(s)"
    assert prop in [detail["property"] for detail in error["details"]]
    if message:
        assert {"message": message, "property": prop} in error["details"]
    assert control.inbox(friend) == []


def test_text_limit_counts_utf16_code_units(line_api, friend):
    assert line_api.push_text(friend, "a" * 4998 + "😀").status_code == 200
    assert line_api.push_text(friend, "a" * 5000).status_code == 200
    assert line_api.push_text(friend, "a" * 4999 + "😀").status_code == 400


def test_multicast_over_500_recipients_is_rejected(line_api):
    users = ["U" + uuid.uuid4().hex for _ in range(501)]
    response = line_api.post("/v2/bot/message/multicast", {"to": users, "messages": [text("x")]})
    assert response.status_code == 400
    assert response.json()["details"] == [{"message": "Size must be between 1 and 500", "property": "to"}]


def test_malformed_json_is_rejected(line_api, friend):
    response = line_api.call(
        "POST", "/v2/bot/message/push", data=b'{"to": ', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["message"].startswith("The request body could not be parsed as JSON (line: 1")


def test_sdk_model_errors_are_reported_in_line_shape(line_api, friend):
    response = line_api.post("/v2/bot/message/push", {"to": friend, "messages": [text(5)]})
    assert response.status_code == 400
    assert response.json()["details"][0]["property"] == "text"


def test_push_to_unknown_or_malformed_ids_fails(line_api):
    assert line_api.push_text("U" + "0" * 32).json() == {"message": "Failed to send messages"}
    response = line_api.push_text("not-a-user")
    assert response.status_code == 400 and "'to'" in response.json()["message"]


def test_blocked_and_non_friend_users_are_accepted_but_not_delivered(line_api, control, friend):
    stranger = control.create_user("Stranger")
    control.unfollow(friend)
    assert line_api.push_text(friend).status_code == 200
    response = line_api.post("/v2/bot/message/multicast", {"to": [friend, stranger], "messages": [text("m")]})
    assert response.status_code == 200 and response.json() == {}
    assert control.inbox(friend) == [] and control.inbox(stranger) == []
    assert [entry["reason"] for entry in control.undelivered(friend)] == ["blocked", "blocked"]
    assert [entry["api"] for entry in control.undelivered(stranger)] == ["multicast"]
    assert control.undelivered(stranger)[0]["reason"] == "notFriend"


def test_non_friend_who_messaged_recently_receives_push(line_api, control):
    user_id = control.create_user("Visitor")
    control.send_text(user_id, "hi")
    assert line_api.push_text(user_id).status_code == 200
    assert len(control.inbox(user_id)) == 1


def test_broadcast_reaches_only_friends(line_api, control, friend):
    blocked = control.create_user("Blocked")
    control.follow(blocked)
    control.unfollow(blocked)
    response = line_api.post("/v2/bot/message/broadcast", {"messages": [text("all")]})
    assert response.status_code == 200
    assert len(control.inbox(friend)) == 1 and control.inbox(blocked) == []


def test_narrowcast_is_accepted_and_only_recorded(line_api, control, friend):
    response = line_api.post("/v2/bot/message/narrowcast", {"messages": [text("n")]})
    assert response.status_code == 202
    [recorded] = control.narrowcasts()
    assert recorded["requestId"] == response.headers["X-Line-Request-Id"]
    assert control.inbox(friend) == []


def test_profile_of_friend(line_api, friend):
    response = line_api.get(f"/v2/bot/profile/{friend}")
    assert response.status_code == 200
    assert response.json() == {
        "displayName": "Hanako",
        "userId": friend,
        "pictureUrl": "https://example.com/h.png",
        "language": "ja",
    }


def test_profile_is_404_for_unknown_blocked_and_no_consent(line_api, control, friend):
    no_consent = control.create_user("Private", profile_consent=False)
    control.follow(no_consent)
    control.unfollow(friend)
    for user_id in ("U" + "1" * 32, friend, no_consent):
        response = line_api.get(f"/v2/bot/profile/{user_id}")
        assert response.status_code == 404
        assert response.json() == {"message": "Not found"}


def test_followers_are_paged_and_can_be_forbidden(line_api, control):
    friends = [control.create_user(f"F{index}") for index in range(5)]
    for user_id in friends:
        control.follow(user_id)
    control.unfollow(friends[0])
    first = line_api.get("/v2/bot/followers/ids", params={"limit": 3}).json()
    second = line_api.get("/v2/bot/followers/ids", params={"limit": 3, "start": first["next"]}).json()
    assert first["userIds"] + second["userIds"] == friends[1:]
    assert "next" not in second
    control.configure(followersApi="forbidden")
    assert line_api.get("/v2/bot/followers/ids").status_code == 403


def test_quota_counts_reached_recipients_and_stops_at_the_monthly_limit(line_api, control, friend):
    other = control.create_user("Other")
    control.follow(other)
    blocked = control.create_user("Blocked")
    control.follow(blocked)
    control.unfollow(blocked)
    control.set_quota(3)
    assert line_api.get("/v2/bot/message/quota").json() == {"type": "limited", "value": 3}
    body = {"to": [friend, other, blocked], "messages": [text("a"), text("b")]}
    assert line_api.post("/v2/bot/message/multicast", body).status_code == 200
    assert line_api.get("/v2/bot/message/quota/consumption").json() == {"totalUsage": 2}
    response = line_api.post("/v2/bot/message/multicast", body)
    assert response.status_code == 429
    assert response.json() == {"message": "You have reached your monthly limit."}
    assert line_api.push_text(friend).status_code == 200
    assert line_api.push_text(friend).status_code == 429
    assert len(control.inbox(friend)) == 2


def test_replies_do_not_count_against_quota(line_api, control, receiver):
    user_id = control.create_user("Replier")
    control.set_quota(0)
    token = control.follow(user_id)["event"]["replyToken"]
    response = line_api.post("/v2/bot/message/reply", {"replyToken": token, "messages": [text("welcome")]})
    assert response.status_code == 200
    assert line_api.get("/v2/bot/message/quota/consumption").json() == {"totalUsage": 0}


def test_loading_animation_and_validate_endpoints(line_api, friend):
    assert line_api.post("/v2/bot/chat/loading/start", {"chatId": friend, "loadingSeconds": 5}).status_code == 202
    assert line_api.post("/v2/bot/message/validate/push", {"messages": [text("ok")]}).status_code == 200
    assert line_api.post("/v2/bot/message/validate/push", {"messages": [text("")]}).status_code == 400


def test_requests_are_logged(line_api, control, friend):
    key = str(uuid.uuid4())
    line_api.push_text(friend, headers={"X-Line-Retry-Key": key})
    line_api.get(f"/v2/bot/profile/{friend}", token=TOKEN)
    [entry] = control.requests_log(path="/message/push")
    assert entry["method"] == "POST" and entry["status"] == 200 and entry["retryKey"] == key
    assert entry["endpoint"] == "push"
    assert [e["path"] for e in control.requests_log(path="/profile/")] == [f"/v2/bot/profile/{friend}"]
