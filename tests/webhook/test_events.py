"""Events are stored once and acted on once; friends follow, block and come back with history intact."""

import json
import threading

import pytest
import requests
from sqlmodel import Session, func, select

from crm.db import get_engine
from crm.friends.models import Friend, FriendStatus, Message
from crm.staff.audit import Actor
from crm.tags import service as tags
from crm.tags.models import Tag
from crm.webhook.consumer import event_consumer
from crm.webhook.models import WebhookEvent
from crm.webhook.views import REGISTRY_KEY
from tests.factories import friend_of
from tests.signing import event, post_signed, sign, webhook_body

# Each test runs with inline and with queued handling: the same effects either way.
pytestmark = pytest.mark.usefixtures("webhook_handling")

USER = "U" + "b" * 32


def follow(user=USER, unblocked=False, **kw):
    return event("follow", user, replyToken="r" * 32, follow={"isUnblocked": unblocked}, **kw)


def unfollow(user=USER, **kw):
    return event("unfollow", user, **kw)


def text_message(text, user=USER, **kw):
    return event(
        "message",
        user,
        replyToken="r" * 32,
        message={"id": "468789577898262530", "type": "text", "text": text, "quoteToken": "q" * 20},
        **kw,
    )


def count(app, model):
    with Session(get_engine(app)) as session:
        return session.exec(select(func.count()).select_from(model)).one()


def test_follow_creates_a_following_friend(app, client):
    assert post_signed(client, webhook_body(follow())).status_code == 200
    friend = friend_of(app, USER)
    assert friend.status == FriendStatus.FOLLOWING
    assert friend.follow_count == 1
    assert friend.first_followed_at == friend.last_followed_at == friend.last_interaction_at
    assert friend.first_followed_at.year == 2023 and friend.first_followed_at.tzinfo is not None
    assert friend.profile_fetch_due_at is not None


def test_redelivered_event_is_stored_and_acted_on_once(app, client):
    original = follow()
    redelivery = dict(original, deliveryContext={"isRedelivery": True})
    for body in (original, original, redelivery):
        assert post_signed(client, webhook_body(body)).status_code == 200
    assert count(app, WebhookEvent) == 1
    assert friend_of(app, USER).follow_count == 1


def test_concurrent_duplicate_deliveries_act_once(app):
    from tests.conftest import LiveServer

    server = LiveServer(app)
    body = json.dumps(webhook_body(follow(), text_message("hello"))).encode()
    headers = {"X-Line-Signature": sign(body), "Content-Type": "application/json"}
    statuses = []
    barrier = threading.Barrier(8)

    def deliver():
        barrier.wait()
        statuses.append(requests.post(f"{server.url}/callback", data=body, headers=headers, timeout=30).status_code)

    threads = [threading.Thread(target=deliver) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    server.stop()
    event_consumer(app).wait_idle()  # queued handling: acted on after the answers
    assert statuses == [200] * 8
    assert count(app, WebhookEvent) == 2
    assert count(app, Message) == 1
    assert friend_of(app, USER).follow_count == 1


def test_unfollow_then_follow_again_keeps_the_record_and_its_tags(app, client):
    post_signed(client, webhook_body(follow(timestamp=1_700_000_000_000)))
    friend = friend_of(app, USER)
    with Session(get_engine(app)) as session:
        tag = Tag(name="VIP")
        session.add(tag)
        session.flush()
        tag_id = tag.id
        tags.add_tag(session, friend_id=friend.id, tag_id=tag_id, actor=Actor.system("test"))
        session.commit()
    post_signed(client, webhook_body(unfollow(timestamp=1_700_000_100_000)))
    blocked = friend_of(app, USER)
    assert blocked.status == FriendStatus.BLOCKED
    assert blocked.blocked_at.timestamp() == 1_700_000_100
    assert blocked.profile_fetch_due_at is None
    post_signed(client, webhook_body(follow(timestamp=1_700_000_200_000, unblocked=True)))
    back = friend_of(app, USER)
    assert back.id == friend.id
    assert back.status == FriendStatus.FOLLOWING
    assert back.follow_count == 2
    assert back.first_followed_at.timestamp() == 1_700_000_000
    assert back.last_followed_at.timestamp() == 1_700_000_200
    with Session(get_engine(app)) as session:
        assert tags.tag_ids_of(session, back.id) == [tag_id]


def test_events_arriving_out_of_order_keep_the_latest_status(app, client):
    post_signed(client, webhook_body(unfollow(timestamp=1_700_000_200_000)))
    post_signed(client, webhook_body(follow(timestamp=1_700_000_100_000)))
    assert friend_of(app, USER).status == FriendStatus.BLOCKED


def test_message_is_stored_in_the_conversation(app, client):
    post_signed(client, webhook_body(follow(), text_message("こんにちは", timestamp=1_700_000_050_000)))
    friend = friend_of(app, USER)
    with Session(get_engine(app)) as session:
        message = session.exec(select(Message)).one()
    assert (message.friend_id, message.direction, message.text) == (friend.id, "in", "こんにちは")
    assert friend.last_interaction_at.timestamp() == 1_700_000_050


def test_non_text_message_stores_type_and_line_id_only(app, client):
    sticker = event(
        "message",
        USER,
        replyToken="r" * 32,
        message={
            "id": "1234",
            "type": "sticker",
            "packageId": "446",
            "stickerId": "1988",
            "stickerResourceType": "STATIC",
            "quoteToken": "q" * 20,
        },
    )
    post_signed(client, webhook_body(sticker))
    with Session(get_engine(app)) as session:
        message = session.exec(select(Message)).one()
    assert (message.message_type, message.text, message.line_message_id) == ("sticker", None, "1234")


def test_unsend_hides_the_stored_message(app, client):
    post_signed(client, webhook_body(text_message("oops")))
    post_signed(client, webhook_body(event("unsend", USER, unsend={"messageId": "468789577898262530"})))
    with Session(get_engine(app)) as session:
        message = session.exec(select(Message)).one()
    assert message.unsent and message.text is None


def test_postback_is_dispatched_by_prefix(app, client):
    seen = []
    registry = app.extensions[REGISTRY_KEY]
    registry.register("survey:", lambda ctx: seen.append(("survey", ctx.data, ctx.friend_id)))
    registry.register("survey:special:", lambda ctx: seen.append(("special", ctx.data, ctx.friend_id)))
    for data in ("survey:1:2", "survey:special:9", "unknown"):
        post_signed(client, webhook_body(event("postback", USER, replyToken="r" * 32, postback={"data": data})))
    friend_id = friend_of(app, USER).id
    assert seen == [("survey", "survey:1:2", friend_id), ("special", "survey:special:9", friend_id)]
    assert count(app, WebhookEvent) == 3


def test_group_and_room_events_are_stored_without_a_friend(app, client):
    group = {"type": "group", "groupId": "C" + "1" * 32, "userId": USER}
    room = {"type": "room", "roomId": "R" + "1" * 32, "userId": USER}
    events = [
        event("join", source=group, replyToken="r" * 32),
        text_message("hi all", source=group),
        event("memberJoined", source=room, replyToken="r" * 32, joined={"members": [{"type": "user", "userId": USER}]}),
        event("leave", source=group),
    ]
    assert post_signed(client, webhook_body(*events)).status_code == 200
    assert count(app, WebhookEvent) == 4
    assert count(app, Friend) == 0


def test_every_other_event_type_is_accepted(app, client):
    events = [
        event("beacon", USER, replyToken="r" * 32, beacon={"hwid": "d41d8cd98f", "type": "enter"}),
        event("accountLink", USER, replyToken="r" * 32, link={"result": "ok", "nonce": "xyz"}),
        event("videoPlayComplete", USER, replyToken="r" * 32, videoPlayComplete={"trackingId": "t1"}),
        event(
            "memberLeft",
            source={"type": "group", "groupId": "C" + "2" * 32},
            left={"members": [{"type": "user", "userId": USER}]},
        ),
        event("somethingBrandNew", USER, surprise={"x": 1}),
        {k: v for k, v in event("accountLink", link={"result": "failed", "nonce": "n"}).items() if k != "source"},
    ]
    assert post_signed(client, webhook_body(*events)).status_code == 200
    assert count(app, WebhookEvent) == 6
    friend = friend_of(app, USER)
    assert friend is not None and friend.follow_count == 0
