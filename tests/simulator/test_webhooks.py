"""Webhooks: complete, signed events of every type that the SDK parses; redelivery."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time

import pytest
from linebot.v3 import WebhookParser
from linebot.v3.exceptions import InvalidSignatureError
from linebot.v3.models.events import UnknownEvent
from linebot.v3.webhooks import (
    AccountLinkEvent,
    ActivatedEvent,
    AudioMessageContent,
    BeaconEvent,
    BotResumedEvent,
    BotSuspendedEvent,
    DeactivatedEvent,
    FileMessageContent,
    FollowEvent,
    ImageMessageContent,
    JoinEvent,
    LeaveEvent,
    LocationMessageContent,
    MemberJoinedEvent,
    MemberLeftEvent,
    MembershipEvent,
    MessageEditedEvent,
    MessageEvent,
    ModuleEvent,
    PnpDeliveryCompletionEvent,
    PostbackEvent,
    StickerMessageContent,
    TextMessageContent,
    UnfollowEvent,
    UnsendEvent,
    VideoMessageContent,
    VideoPlayCompleteEvent,
)

from tests.simulator.conftest import BOT_ID, SECRET

ULID_RE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")
GROUP = {"type": "group", "groupId": "C" + "1" * 32, "userId": "U" + "2" * 32}
ROOM = {"type": "room", "roomId": "R" + "3" * 32, "userId": "U" + "2" * 32}


def parse(call: dict) -> list:
    """Parse a received webhook with the SDK, verifying its signature."""
    return WebhookParser(SECRET).parse(call["body"], call["headers"]["X-Line-Signature"])


def all_generated_events(control, user_id) -> None:
    """Drive the simulator through every event it generates."""
    control.follow(user_id)
    control.send_text(user_id, "hello")
    for message in (
        {"type": "image"},
        {"type": "video"},
        {"type": "audio"},
        {"type": "file"},
        {"type": "location"},
        {"type": "sticker", "packageId": "1", "stickerId": "2"},
        {
            "type": "image",
            "contentProvider": {
                "type": "external",
                "originalContentUrl": "https://e.x/a.png",
                "previewImageUrl": "https://e.x/p.png",
            },
        },
    ):
        control.send_message(user_id, message)
    control.postback(user_id, "a=1", params={"date": "2026-01-01"})
    control.unsend(user_id)
    control.unfollow(user_id)
    control.follow(user_id)
    control.raw_events(
        [
            {"type": "join", "source": GROUP},
            {"type": "join", "source": ROOM},
            {"type": "memberJoined", "source": GROUP},
            {"type": "memberLeft", "source": GROUP},
            {"type": "message", "source": GROUP, "message": {"type": "text", "text": "in group"}},
            {"type": "messageEdited", "source": GROUP, "message": {"type": "text", "text": "edited"}},
            {"type": "leave", "source": ROOM},
            {"type": "accountLink", "source": {"type": "user", "userId": user_id}},
            {"type": "accountLink", "link": {"result": "failed", "nonce": "n"}},
            {"type": "beacon", "source": {"type": "user", "userId": user_id}},
            {"type": "videoPlayComplete", "source": {"type": "user", "userId": user_id}},
            {"type": "membership", "source": {"type": "user", "userId": user_id}},
            {"type": "activated", "source": {"type": "user", "userId": user_id}},
            {"type": "deactivated", "source": {"type": "user", "userId": user_id}},
            {"type": "botSuspended"},
            {"type": "botResumed"},
            {"type": "module", "source": {"type": "user", "userId": user_id}},
            {"type": "delivery", "source": {"type": "user", "userId": user_id}},
        ]
    )


def test_every_generated_event_parses_with_the_sdk_and_none_is_unknown(control, receiver):
    user_id = control.create_user("All")
    all_generated_events(control, user_id)
    events = [event for call in receiver.calls for event in parse(call)]
    assert not [event for event in events if isinstance(event, UnknownEvent)]
    expected = [
        FollowEvent,
        *[MessageEvent] * 8,
        PostbackEvent,
        UnsendEvent,
        UnfollowEvent,
        FollowEvent,
        JoinEvent,
        JoinEvent,
        MemberJoinedEvent,
        MemberLeftEvent,
        MessageEvent,
        MessageEditedEvent,
        LeaveEvent,
        AccountLinkEvent,
        AccountLinkEvent,
        BeaconEvent,
        VideoPlayCompleteEvent,
        MembershipEvent,
        ActivatedEvent,
        DeactivatedEvent,
        BotSuspendedEvent,
        BotResumedEvent,
        ModuleEvent,
        PnpDeliveryCompletionEvent,
    ]
    assert [type(event) for event in events] == expected
    contents = [type(event.message) for event in events[1:9]]
    assert contents == [
        TextMessageContent,
        ImageMessageContent,
        VideoMessageContent,
        AudioMessageContent,
        FileMessageContent,
        LocationMessageContent,
        StickerMessageContent,
        ImageMessageContent,
    ]
    assert events[9].postback.params == {"date": "2026-01-01"}
    assert events[10].unsend.message_id == events[8].message.id
    assert [event.follow.is_unblocked for event in (events[0], events[12])] == [False, True]


def test_common_properties_are_complete(control, receiver):
    user_id = control.create_user("Props")
    before = int(time.time() * 1000)
    control.follow(user_id)
    control.send_text(user_id, "hi")
    control.unfollow(user_id)
    bodies = [json.loads(call["body"]) for call in receiver.calls]
    assert {body["destination"] for body in bodies} == {BOT_ID}
    events = [body["events"][0] for body in bodies]
    for event in events:
        assert event["mode"] == "active"
        assert ULID_RE.match(event["webhookEventId"])
        assert event["deliveryContext"] == {"isRedelivery": False}
        assert before <= event["timestamp"] <= int(time.time() * 1000)
        assert event["source"] == {"type": "user", "userId": user_id}
    follow, message, unfollow = events
    assert re.fullmatch(r"[0-9a-f]{32}", follow["replyToken"]) and follow["follow"] == {"isUnblocked": False}
    assert message["message"]["quoteToken"] and message["message"]["id"].isdigit() and message["replyToken"]
    assert "replyToken" not in unfollow
    assert len({event["webhookEventId"] for event in events}) == 3


def test_signature_is_hmac_of_exact_bytes_and_non_ascii_is_escaped(control, receiver):
    user_id = control.create_user("Sig")
    control.send_text(user_id, "こんにちは😀")
    call = receiver.last
    expected = base64.b64encode(hmac.new(SECRET.encode(), call["body"].encode(), hashlib.sha256).digest()).decode()
    assert call["headers"]["X-Line-Signature"] == expected
    assert call["headers"]["Content-Type"].startswith("application/json")
    assert "\\u3053" in call["body"] and "こ" not in call["body"]
    [event] = parse(call)
    assert event.message.text == "こんにちは😀"
    with pytest.raises(InvalidSignatureError):
        WebhookParser("another-secret").parse(call["body"], call["headers"]["X-Line-Signature"])


def test_raw_events_can_carry_a_bad_signature_and_an_empty_list(control, receiver):
    result = control.raw_events([])
    assert result["status"] == 200 and result["events"] == []
    assert parse(receiver.last) == []
    control.raw_events([{"type": "follow", "source": {"type": "user", "userId": "U" + "4" * 32}}], signature="bad")
    with pytest.raises(InvalidSignatureError):
        parse(receiver.last)


def test_raw_events_without_fill_are_sent_as_given(control, receiver):
    partial = {"type": "follow", "source": {"type": "user", "userId": "U" + "4" * 32}}
    control.raw_events([partial], fill=False)
    assert json.loads(receiver.last["body"])["events"] == [partial]


def test_action_reports_the_receivers_status_and_time(control, receiver):
    user_id = control.create_user("Status")
    receiver.status, receiver.delay = 500, 0.2
    result = control.follow(user_id)
    assert result["status"] == 500 and result["elapsedMs"] >= 200 and result["error"] is None
    assert result["event"] == json.loads(receiver.last["body"])["events"][0]
    assert control.webhook_log()[-1]["status"] == 500


def test_unreachable_webhook_is_reported_not_raised(control):
    control.configure(webhookUrl="http://127.0.0.1:9/callback")
    result = control.send_text(control.create_user("Nowhere"), "hi")
    assert result["status"] is None and "Connection" in result["error"]


def test_redelivery_is_identical_except_is_redelivery(control, receiver):
    user_id = control.create_user("Again")
    original = control.send_text(user_id, "once more")["event"]
    result = control.redeliver(original["webhookEventId"])
    assert result["status"] == 200
    resent = json.loads(receiver.last["body"])["events"][0]
    assert resent["deliveryContext"] == {"isRedelivery": True}
    assert {**resent, "deliveryContext": original["deliveryContext"]} == original
    [event] = parse(receiver.last)
    assert event.delivery_context.is_redelivery is True


def test_redelivered_unused_reply_token_stays_usable_for_20_minutes(control, line_api):
    control.configure(replyTokenTtlSeconds=0.1)
    user_id = control.create_user("Late")
    original = control.send_text(user_id, "hi")["event"]
    time.sleep(0.2)
    control.redeliver(original["webhookEventId"])
    body = {"replyToken": original["replyToken"], "messages": [{"type": "text", "text": "late reply"}]}
    assert line_api.post("/v2/bot/message/reply", body).status_code == 200
    control.redeliver(original["webhookEventId"])
    assert line_api.post("/v2/bot/message/reply", body).status_code == 400


def test_group_replies_and_pushes_go_to_the_group(control, line_api):
    result = control.raw_events([{"type": "join", "source": GROUP}])
    token = result["events"][0]["replyToken"]
    line_api.post("/v2/bot/message/reply", {"replyToken": token, "messages": [{"type": "text", "text": "hi all"}]})
    assert line_api.push_text(GROUP["groupId"]).status_code == 200
    assert [entry["api"] for entry in control.chat_inbox(GROUP["groupId"])] == ["reply", "push"]
    control.raw_events([{"type": "leave", "source": GROUP}])
    assert line_api.push_text(GROUP["groupId"]).status_code == 400


def test_blocked_user_cannot_message_and_double_follow_is_refused(control):
    from linesim.client import SimulatorError

    user_id = control.create_user("Blocker")
    control.follow(user_id)
    with pytest.raises(SimulatorError) as caught:
        control.follow(user_id)
    assert caught.value.status == 409
    control.unfollow(user_id)
    with pytest.raises(SimulatorError):
        control.send_text(user_id, "hi")
