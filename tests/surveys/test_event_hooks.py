"""The core's generic hooks for a friend's text messages and blocks (used by surveys; any feature may register)."""

from sqlmodel import Session, func, select

from crm.db import get_engine
from crm.friends.models import Message
from crm.webhook.hooks import event_hooks
from tests.signing import event, post_signed, webhook_body

USER = "U" + "d" * 32


def text(body: str, **kw) -> dict:
    return event(
        "message",
        USER,
        replyToken="r" * 32,
        message={"id": "1", "type": "text", "text": body, "quoteToken": "q" * 20},
        **kw,
    )


def test_text_handlers_run_in_order_until_one_consumes(app, client):
    seen = []
    hooks = event_hooks(app)
    hooks.on_text(lambda ctx: seen.append(("first", ctx.text, ctx.reply_token)) or ctx.text == "mine")
    hooks.on_text(lambda ctx: seen.append(("second", ctx.text, ctx.friend_id)) or False)
    post_signed(client, webhook_body(text("mine"), text("other")))
    assert [(name, body) for name, body, _ in seen] == [("first", "mine"), ("first", "other"), ("second", "other")]
    assert seen[0][2] == "r" * 32 and isinstance(seen[2][2], int)
    with Session(get_engine(app)) as session:  # the core stored both messages whatever the hooks did
        assert session.exec(select(func.count()).select_from(Message)).one() == 2


def test_only_a_friends_text_messages_reach_text_handlers(app, client):
    seen = []
    event_hooks(app).on_text(lambda ctx: seen.append(ctx.text) or True)
    sticker = event(
        "message",
        USER,
        replyToken="r" * 32,
        message={
            "id": "2",
            "type": "sticker",
            "packageId": "1",
            "stickerId": "1",
            "stickerResourceType": "STATIC",
            "quoteToken": "q" * 20,
        },
    )
    group = text("in a group", source={"type": "group", "groupId": "C" + "1" * 32, "userId": USER})
    post_signed(
        client, webhook_body(sticker, group, event("postback", USER, replyToken="r" * 32, postback={"data": "x"}))
    )
    assert seen == []


def test_block_handlers_hear_unfollow(app, client):
    blocked = []
    event_hooks(app).on_block(lambda ctx: blocked.append(ctx.friend_id))
    post_signed(client, webhook_body(text("hi"), event("unfollow", USER)))
    assert len(blocked) == 1


def test_a_redelivered_event_does_not_run_the_hooks_twice(app, client):
    seen = []
    event_hooks(app).on_text(lambda ctx: seen.append(ctx.event_key) or True)
    message = text("once")
    post_signed(client, webhook_body(message))
    post_signed(client, webhook_body({**message, "deliveryContext": {"isRedelivery": True}}))
    assert len(seen) == 1
