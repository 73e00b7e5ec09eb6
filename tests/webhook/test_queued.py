"""Queued handling: /callback answers once the events are stored; the consumer (or the worker's sweep) acts on
each exactly once, in the order stored, with failures kept aside as inline."""

import json
import threading
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, select

from crm.db import get_engine
from crm.friends.models import Message
from crm.timeutil import utcnow
from crm.webhook import consumer
from crm.webhook.consumer import EventConsumer, event_consumer, handle_waiting, sweep_tick
from crm.webhook.events import retry_failed_event
from crm.webhook.models import FailedWebhookEvent, WebhookEvent
from crm.webhook.views import REGISTRY_KEY
from tests.factories import friend_of
from tests.signing import event, post_signed, sign, webhook_body
from tests.webhook.test_failures import broken_postbacks

USER = "U" + "e" * 32
OTHER = "U" + "f" * 32


@pytest.fixture
def app(make_app):
    return make_app(WEBHOOK_HANDLING="queued")


@pytest.fixture(autouse=True)
def no_failures_counted(monkeypatch):
    """Each test counts its own database failures (row ids repeat from one test database to the next)."""
    monkeypatch.setattr(consumer, "_transient", consumer.TransientFailures())


@pytest.fixture
def stopped(monkeypatch):
    """The web process's consumer never runs (as if the process died right after answering); the wake-ups it
    was given are counted."""
    wakes = []
    monkeypatch.setattr(EventConsumer, "wake", lambda self: wakes.append(self))
    return wakes


def rows(app, model):
    with Session(get_engine(app)) as session:
        return session.exec(select(model).order_by(model.id)).all()


def registries(app):
    return app.extensions[REGISTRY_KEY], None


def text(body: str, user: str = USER, **fields) -> dict:
    return event("message", user, replyToken="r" * 32, message={"id": body, "type": "text", "text": body}, **fields)


def test_the_answer_comes_once_stored_and_the_handling_after(app, client, stopped):
    follow = event("follow", USER, replyToken="r" * 32)
    group = event("message", source={"type": "group", "groupId": "C" + "1" * 32}, message={"type": "sticker"})
    assert post_signed(client, webhook_body(follow, group)).status_code == 200
    assert len(stopped) == 1
    stored, grouped = rows(app, WebhookEvent)
    assert stored.handled_at is None and stored.friend_id is None
    assert grouped.handled_at is not None  # no friend: nothing waits
    assert friend_of(app, USER) is None

    assert handle_waiting(get_engine(app), *registries(app)) == 1
    (stored, _) = rows(app, WebhookEvent)
    assert stored.handled_at is not None and stored.friend_id == friend_of(app, USER).id
    assert friend_of(app, USER).follow_count == 1
    assert handle_waiting(get_engine(app), *registries(app)) == 0


def test_the_consumer_thread_handles_each_event_once(app, client):
    post_signed(client, webhook_body(event("follow", USER, replyToken="r" * 32)))  # waits for the consumer
    for n in range(3):
        assert post_signed(client, webhook_body(text(f"m{n}"))).status_code == 200
    assert [row.handled_at is not None for row in rows(app, WebhookEvent)] == [True] * 4
    assert [message.text for message in rows(app, Message)] == ["m0", "m1", "m2"]
    assert friend_of(app, USER).follow_count == 1


def test_a_died_consumers_events_are_handled_by_the_sweep_once(app, client, stopped):
    post_signed(client, webhook_body(event("follow", USER, replyToken="r" * 32)))
    post_signed(client, webhook_body(text("hello")))
    engine = get_engine(app)
    sweep_tick(app, engine, None)  # just acknowledged: the web process's consumer may still come
    assert friend_of(app, USER) is None

    with time_machine.travel(utcnow() + consumer.SWEEP_AFTER + timedelta(seconds=1), tick=False):
        sweep_tick(app, engine, None)
        sweep_tick(app, engine, None)
    assert friend_of(app, USER).follow_count == 1
    assert [message.text for message in rows(app, Message)] == ["hello"]
    assert all(row.handled_at is not None for row in rows(app, WebhookEvent))


def test_a_redelivery_of_a_waiting_event_is_stored_once(app, client, stopped):
    original = event("follow", USER, replyToken="r" * 32)
    post_signed(client, webhook_body(original))
    post_signed(client, webhook_body(dict(original, deliveryContext={"isRedelivery": True})))
    assert len(rows(app, WebhookEvent)) == 1
    assert handle_waiting(get_engine(app), *registries(app)) == 1
    assert friend_of(app, USER).follow_count == 1


def test_two_consumers_racing_handle_each_event_once_in_order(app, client, stopped):
    users = [USER, OTHER, "U" + "7" * 32]
    post_signed(client, webhook_body(*(event("follow", user) for user in users)))
    for n in range(12):  # each friend's messages arrive in bodies of their own, interleaved
        post_signed(client, webhook_body(text(f"{n:02d}", users[n % 3])))
    results, barrier = [], threading.Barrier(2)

    def consume():
        barrier.wait()
        results.append(handle_waiting(get_engine(app), *registries(app), batch=4))

    threads = [threading.Thread(target=consume) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(results) == 15  # each event acted on by one of them
    for index, user in enumerate(users):
        friend = friend_of(app, user)
        assert friend.follow_count == 1
        with Session(get_engine(app)) as session:
            texts = session.exec(select(Message.text).where(Message.friend_id == friend.id).order_by(Message.id)).all()
        assert texts == [f"{n:02d}" for n in range(index, 12, 3)]


def test_a_failing_event_is_kept_aside_handled_and_retried_once(app, client):
    state = broken_postbacks(app)
    failing = event("postback", USER, replyToken="r" * 32, postback={"data": "broken:1"})
    after = text("after")
    assert post_signed(client, webhook_body(failing, after)).status_code == 200  # stored: LINE need not redeliver
    assert [row.handled_at is not None for row in rows(app, WebhookEvent)] == [True, True]
    assert [message.text for message in rows(app, Message)] == ["after"]  # the friend's next event went on
    (failure,) = rows(app, FailedWebhookEvent)
    assert failure.error_class == "RuntimeError" and failure.resolved_at is None

    state["fixed"] = True
    registry = app.extensions[REGISTRY_KEY]
    with app.app_context():
        assert retry_failed_event(get_engine(app), failure_id=failure.id, registry=registry) == "processed"
        assert retry_failed_event(get_engine(app), failure_id=failure.id, registry=registry) == "duplicate"
    assert state["handled"] == 1
    assert rows(app, FailedWebhookEvent)[0].resolved_at is not None
    assert len(rows(app, WebhookEvent)) == 2


def test_a_database_failure_leaves_the_event_waiting_then_it_is_kept_aside(app, client, stopped, monkeypatch):
    state = {"locked": True, "handled": 0}

    def handler(_context):
        if state["locked"]:
            raise OperationalError("UPDATE friend", {}, Exception("database is locked"))
        state["handled"] += 1

    app.extensions[REGISTRY_KEY].register("locked:", handler)
    post_signed(client, webhook_body(event("postback", USER, replyToken="r" * 32, postback={"data": "locked:1"})))
    post_signed(client, webhook_body(event("postback", USER, replyToken="r" * 32, postback={"data": "locked:2"})))
    engine = get_engine(app)
    assert handle_waiting(engine, *registries(app)) == 0  # the round stops at the first: its friend's order
    assert [row.handled_at for row in rows(app, WebhookEvent)] == [None, None]
    assert rows(app, FailedWebhookEvent) == []

    monkeypatch.setattr(consumer, "MAX_TRANSIENT_ATTEMPTS", 2)
    handle_waiting(engine, *registries(app))  # the second failure in a row: kept aside, the next one goes on
    (failure,) = rows(app, FailedWebhookEvent)
    assert failure.error_class == "OperationalError"
    assert rows(app, WebhookEvent)[0].handled_at is not None

    assert rows(app, WebhookEvent)[1].handled_at is None  # the next one failed on its first try: waiting

    state["locked"] = False
    assert handle_waiting(engine, *registries(app)) == 1
    assert state["handled"] == 1
    assert rows(app, WebhookEvent)[1].handled_at is not None


def test_a_new_process_gets_a_consumer_of_its_own(app, monkeypatch):
    first = event_consumer(app)
    assert event_consumer(app) is first
    monkeypatch.setattr(consumer.os, "getpid", lambda: -1)  # as in a gunicorn worker forked after first use
    assert event_consumer(app) is not first


def test_the_setting_takes_only_known_values():
    from crm.config import Config, ConfigError

    with pytest.raises(ConfigError):
        Config.from_environ({"CRM_ENV": "development", "WEBHOOK_HANDLING": "later"})
    assert Config.from_environ({"CRM_ENV": "development"}).WEBHOOK_HANDLING == "queued"


def test_a_body_the_database_refuses_is_not_acknowledged_and_nothing_of_it_stays(app, client, monkeypatch):
    from crm.webhook import event_store

    insert, calls = event_store.insert_event, []

    def refuse_the_second(connection, **values):
        calls.append(values["key"])
        if len(calls) == 2:
            raise OperationalError("INSERT INTO webhook_event", {}, Exception("disk I/O error"))
        return insert(connection, **values)

    monkeypatch.setattr(event_store, "insert_event", refuse_the_second)
    body = webhook_body(event("follow", USER), event("follow", OTHER))
    response = post_signed(client, body)
    assert response.status_code == 500  # LINE redelivers the body
    assert rows(app, WebhookEvent) == []
    assert post_signed(client, body).status_code == 200
    assert friend_of(app, USER).follow_count == friend_of(app, OTHER).follow_count == 1


def test_the_consumer_lets_the_answers_to_line_go_first(app, client, monkeypatch):
    monkeypatch.setattr(consumer, "YIELD_SECONDS", 60.0)
    waiting_consumer = event_consumer(app)
    with waiting_consumer.answering():  # as if another webhook were being answered by this process
        body = json.dumps(webhook_body(event("follow", USER, replyToken="r" * 32))).encode()
        assert client.post("/callback", data=body, headers={"X-Line-Signature": sign(body)}).status_code == 200
        assert [row.handled_at for row in rows(app, WebhookEvent)] == [None]  # woken, but waiting for the answer
    assert waiting_consumer.wait_idle(timeout=10)  # the last answer ended: it went on at once, not after 60 s
    assert friend_of(app, USER).follow_count == 1
