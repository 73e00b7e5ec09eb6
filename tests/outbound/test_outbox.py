"""Outbound webhooks: signed deliveries, retries with backoff, giving up, and the outbox written atomically."""

import hashlib
import hmac
import json
from datetime import timedelta

import pytest
from sqlmodel import select

from crm.db import session_scope
from crm.friends.models import Friend
from crm.outbound import delivery as outbox_delivery
from crm.outbound.jobs import deliver_webhooks
from crm.outbound.models import OutboxState, WebhookAttempt, WebhookDelivery
from crm.staff.audit import Actor
from crm.tags import admin as tag_admin
from crm.tags import service as tags
from crm.timeutil import utcnow
from tests.factories import make_friend, make_tag
from tests.outbound.helpers import add_endpoint, deliveries, events_of

SYSTEM = Actor.system("test")
USER = "U" + "c" * 32


def receiver_verifies(secret: str, body: bytes, headers: dict) -> dict:
    """What docs/webhooks.md tells receivers to do."""
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(expected, headers["X-CRM-Signature"])
    return json.loads(body)


def test_delivery_is_signed_and_the_receiver_verifies_it(app, engine, receiver):
    endpoint_id, secret = add_endpoint(engine, receiver.url, ["tag.added"])
    friend_id, tag_id = make_friend(app, line_user_id=USER), make_tag(app)
    with session_scope(engine) as session:
        tags.add_tag(session, friend_id=friend_id, tag_id=tag_id, actor=SYSTEM)
    assert deliver_webhooks(engine, allow_private=True) == 1
    ((path, headers, body),) = receiver.calls
    doc = receiver_verifies(secret, body, headers)
    assert doc["type"] == "tag.added" and headers["X-CRM-Event-Id"] == doc["id"]
    assert headers["X-CRM-Event-Type"] == "tag.added" and headers["X-CRM-Timestamp"].isdigit()
    assert doc["data"] == {
        "tag": {"id": tag_id, "name": "VIP"},
        "friends": [{"id": friend_id, "line_user_id": USER}],
    }
    assert not outbox_delivery.verify("another secret", body, headers["X-CRM-Signature"])
    assert not outbox_delivery.verify(secret, body + b" ", headers["X-CRM-Signature"])
    assert [row.state for row in deliveries(engine)] == [OutboxState.DELIVERED]
    deliver_webhooks(engine, allow_private=True, now=utcnow() + timedelta(days=6))
    assert len(deliveries(engine)) == 1  # kept a week for the console
    deliver_webhooks(engine, allow_private=True, now=utcnow() + timedelta(days=8))
    assert deliveries(engine) == []


def test_no_outbox_rows_when_nobody_subscribes(app, engine, receiver):
    add_endpoint(engine, receiver.url, ["tag.removed"])
    add_endpoint(engine, receiver.url, ["tag.added"], active=False)
    friend_id, tag_id = make_friend(app, line_user_id=USER), make_tag(app)
    with session_scope(engine) as session:
        tags.add_tag(session, friend_id=friend_id, tag_id=tag_id, actor=SYSTEM)
    assert deliveries(engine) == []


def test_the_outbox_row_commits_or_rolls_back_with_the_change(app, engine, receiver):
    add_endpoint(engine, receiver.url, ["tag.added"])
    friend_id, tag_id = make_friend(app, line_user_id=USER), make_tag(app)
    with pytest.raises(RuntimeError):
        with session_scope(engine) as session:
            tags.add_tag(session, friend_id=friend_id, tag_id=tag_id, actor=SYSTEM)
            raise RuntimeError("the change fails after the tag was added")
    assert deliveries(engine) == []
    with session_scope(engine) as session:
        assert tags.tag_ids_of(session, friend_id) == []
        tags.add_tag(session, friend_id=friend_id, tag_id=tag_id, actor=SYSTEM)
    assert len(deliveries(engine)) == 1


def test_failures_are_retried_with_growing_waits_then_given_up(app, engine, receiver):
    add_endpoint(engine, receiver.url, ["tag.added"])
    friend_id, tag_id = make_friend(app, line_user_id=USER), make_tag(app)
    with session_scope(engine) as session:
        tags.add_tag(session, friend_id=friend_id, tag_id=tag_id, actor=SYSTEM)
    receiver.statuses = [500, 503, 502, 500]
    now, waits = utcnow(), []
    for _ in range(4):
        assert deliver_webhooks(engine, allow_private=True, max_attempts=4, now=now) == 0
        (row,) = deliveries(engine)
        if row.state == OutboxState.PENDING:
            assert (
                deliver_webhooks(engine, allow_private=True, max_attempts=4, now=now) == 0
            )  # not due yet: nothing sent
            waits.append(row.next_attempt_at - now)
            now = row.next_attempt_at
    assert waits == [timedelta(seconds=30), timedelta(seconds=60), timedelta(seconds=120)]
    assert len(receiver.calls) == 4 and row.state == OutboxState.FAILED and row.attempts == 4
    with session_scope(engine) as session:
        codes = [a.status_code for a in session.exec(select(WebhookAttempt).order_by(WebhookAttempt.id))]
    assert codes == [500, 503, 502, 500]
    assert {body for _p, _h, body in receiver.calls} == {receiver.calls[0][2]}  # the same signed body each time


def test_retry_state_survives_a_restart(make_app, receiver):
    first = make_app()
    from crm.db import get_engine

    add_endpoint(get_engine(first), receiver.url, ["tag.added"])
    friend_id, tag_id = make_friend(first, line_user_id=USER), make_tag(first)
    with session_scope(get_engine(first)) as session:
        tags.add_tag(session, friend_id=friend_id, tag_id=tag_id, actor=SYSTEM)
    receiver.statuses = [500]
    deliver_webhooks(get_engine(first), allow_private=True)
    get_engine(first).dispose()
    second = get_engine(make_app())  # a new process: only the database remembers
    (row,) = deliveries(second)
    assert row.attempts == 1 and row.state == OutboxState.PENDING
    assert deliver_webhooks(second, allow_private=True, now=row.next_attempt_at) == 1
    assert deliveries(second)[0].state == OutboxState.DELIVERED and len(receiver.calls) == 2


def test_a_dead_receiver_costs_one_try_per_tick_and_others_still_get_theirs(app, engine, receiver):
    dead_url = "http://127.0.0.1:9/unreachable"  # discard port: connection refused
    add_endpoint(engine, dead_url, ["tag.added"])
    add_endpoint(engine, receiver.url, ["tag.added"])
    friend_id = make_friend(app, line_user_id=USER)
    make_tag(app)
    with session_scope(engine) as session:
        for name in ("A", "B"):
            other = tag_admin.create_tag(session, name=name, folder_id=None, actor=SYSTEM)
            tags.add_tag(session, friend_id=friend_id, tag_id=other.id, actor=SYSTEM)
    assert deliver_webhooks(engine, allow_private=True, timeout=1.0) == 2
    with session_scope(engine) as session:
        attempts = list(session.exec(select(WebhookAttempt).where(WebhookAttempt.ok == False)))  # noqa: E712
        waiting = session.exec(select(WebhookDelivery).where(WebhookDelivery.state == OutboxState.PENDING)).all()
    assert len(attempts) == 1 and attempts[0].error == "unreachable"
    assert len(waiting) == 2 and sorted(row.attempts for row in waiting) == [0, 1]


def test_bulk_tagging_sends_one_event_per_500_friends(engine, receiver):
    add_endpoint(engine, receiver.url, ["tag.added"])
    with session_scope(engine) as session:
        session.add_all([Friend(line_user_id=f"U{n:032x}") for n in range(1200)])
        tag = tag_admin.create_tag(session, name="Bulk", folder_id=None, actor=SYSTEM)
        session.flush()
        ids = list(session.exec(select(Friend.id)))
        assert tags.add_tag_to_many(session, friend_ids=ids, tag_id=tag.id, actor=SYSTEM) == 1200
    sizes = [len(doc["data"]["friends"]) for doc in events_of(engine, "tag.added")]
    assert sizes == [500, 500, 200]


def test_erasure_can_forget_a_friends_events(app, engine, receiver):
    add_endpoint(engine, receiver.url, ["tag.added"])
    friend_id, tag_id = make_friend(app, line_user_id=USER), make_tag(app)
    with session_scope(engine) as session:
        tags.add_tag(session, friend_id=friend_id, tag_id=tag_id, actor=SYSTEM)
        session.add(Friend(line_user_id="U" + "d" * 32))
    receiver.statuses = [500]
    deliver_webhooks(engine, allow_private=True)
    with session_scope(engine) as session:
        assert outbox_delivery.forget_friend(session, line_user_id="U" + "d" * 32) == 0
        assert outbox_delivery.forget_friend(session, line_user_id="U" + "c" * 32) == 1
    with session_scope(engine) as session:
        assert session.exec(select(WebhookAttempt)).all() == []
    assert deliveries(engine) == []
