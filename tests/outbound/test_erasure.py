"""Erasing a friend removes only their part of stored outbound data: a tag event keeps its other friends and a
relayed LINE body keeps the other users' events (signed again with the channel secret)."""

import json

import pytest
from sqlmodel import select

from crm.db import session_scope
from crm.friends.models import Friend
from crm.outbound import delivery as outbox_delivery
from crm.outbound import relay
from crm.outbound.jobs import deliver_webhooks, forward_relay
from crm.outbound.models import RelayItem, WebhookDelivery
from crm.privacy import service as privacy
from crm.staff.audit import Actor
from crm.tags import admin as tag_admin
from crm.tags import service as tags
from crm.timeutil import utcnow
from tests.outbound.helpers import add_endpoint
from tests.outbound.test_relay import line_signature_ok
from tests.signing import SECRET, event, post_signed, webhook_body

SYSTEM = Actor.system("test")
ERASED, KEPT = "U" + "e" * 32, "U" + "k" * 32


@pytest.fixture
def app(make_app, receiver):
    return make_app(LINE_WEBHOOK_RELAY_URL=receiver.url)


def _friend_id(engine, line_user_id: str) -> int:
    with session_scope(engine) as session:
        return session.exec(select(Friend.id).where(Friend.line_user_id == line_user_id)).one()


def _erase(engine, line_user_id: str) -> int:
    friend_id = _friend_id(engine, line_user_id)
    with session_scope(engine) as session:
        privacy.erase_friend(session, friend_id=friend_id, actor=SYSTEM)
    return friend_id


def _stored_outbound(engine) -> str:
    """Every stored delivery and relay body, as one text."""
    with session_scope(engine) as session:
        bodies = list(session.exec(select(WebhookDelivery.body)))
        bodies += [bytes(body).decode() for body in session.exec(select(RelayItem.body))]
    return "\n".join(bodies)


def test_a_tag_event_keeps_the_other_friend_and_forgets_the_erased_one(engine, receiver):
    add_endpoint(engine, receiver.url, ["tag.added", "friend.followed"])
    with session_scope(engine) as session:
        session.add_all([Friend(line_user_id=ERASED, display_name="山田花子"), Friend(line_user_id=KEPT)])
        tag = tag_admin.create_tag(session, name="VIP", folder_id=None, actor=SYSTEM)
        session.flush()
        ids = list(session.exec(select(Friend.id).order_by(Friend.id)))
        tags.add_tag_to_many(session, friend_ids=ids, tag_id=tag.id, actor=SYSTEM)
    erased_id = _erase(engine, ERASED)
    stored = _stored_outbound(engine)
    assert ERASED not in stored and "山田花子" not in stored
    assert deliver_webhooks(engine, allow_private=True) == 1
    ((_path, _headers, body),) = receiver.calls
    friends = json.loads(body)["data"]["friends"]
    assert friends == [{"id": _friend_id(engine, KEPT), "line_user_id": KEPT}]
    assert erased_id not in [ref["id"] for ref in friends]


def test_erasure_walks_every_matching_delivery_in_chunks(engine, receiver):
    for _ in range(3):
        add_endpoint(engine, receiver.url, ["tag.added"])
    with session_scope(engine) as session:
        session.add_all([Friend(line_user_id=ERASED), Friend(line_user_id=KEPT), Friend(line_user_id="U" + "o" * 32)])
        tag = tag_admin.create_tag(session, name="VIP", folder_id=None, actor=SYSTEM)
        session.flush()
        ids = list(session.exec(select(Friend.id).order_by(Friend.id)))
        tags.add_tag_to_many(session, friend_ids=ids[:2], tag_id=tag.id, actor=SYSTEM)
        tags.add_tag_to_many(session, friend_ids=ids[2:], tag_id=tag.id, actor=SYSTEM)  # names nobody erased
    with session_scope(engine) as session:
        assert outbox_delivery.forget_friend(session, line_user_id=ERASED, chunk=1) == 3
    assert ERASED not in _stored_outbound(engine)
    with session_scope(engine) as session:
        assert len(session.exec(select(WebhookDelivery)).all()) == 6  # nothing dropped: each still names someone


def test_a_relayed_body_keeps_the_other_users_events_signed_again(app, engine, client, receiver):
    body = webhook_body(
        event("follow", ERASED, follow={"isUnblocked": False}),
        event("follow", KEPT, follow={"isUnblocked": False}),
    )
    assert post_signed(client, body).status_code == 200
    with session_scope(engine) as session:
        session.add(RelayItem(body=b'{"events":[]}', signature="untouched", next_attempt_at=utcnow()))
    _erase(engine, ERASED)
    assert ERASED not in _stored_outbound(engine)
    with session_scope(engine) as session:
        assert session.exec(select(RelayItem.signature).order_by(RelayItem.id)).all() == ["", "untouched"]
    assert forward_relay(engine, url=receiver.url, channel_secret=SECRET, allow_private=True, batch=1) == 1
    ((_path, headers, forwarded),) = receiver.calls
    assert [e["source"]["userId"] for e in json.loads(forwarded)["events"]] == [KEPT]
    assert line_signature_ok(forwarded, headers["X-Line-Signature"])


def test_a_relayed_body_naming_only_the_erased_user_is_dropped(app, engine, client):
    assert post_signed(client, webhook_body(event("follow", ERASED, follow={"isUnblocked": False}))).status_code == 200
    with session_scope(engine) as session:
        assert relay.forget_user(session, line_user_id=ERASED) == 1
        assert session.exec(select(RelayItem)).all() == []
