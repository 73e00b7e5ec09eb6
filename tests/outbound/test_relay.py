"""The relay forwards LINE's webhook body byte for byte with its original signature, durably and later."""

import base64
import hashlib
import hmac
import json
from datetime import timedelta

import pytest
from sqlmodel import select

from crm.db import session_scope
from crm.outbound import relay
from crm.outbound.jobs import forward_relay, relay_prune_tick
from crm.outbound.models import OutboxState, RelayItem
from crm.timeutil import utcnow
from tests.signing import SECRET, event, post_signed, webhook_body


@pytest.fixture
def app(make_app, receiver):
    return make_app(LINE_WEBHOOK_RELAY_URL=receiver.url)


def line_signature_ok(body: bytes, signature: str) -> bool:
    expected = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()
    return hmac.compare_digest(expected, signature)


def queued(engine) -> list[RelayItem]:
    with session_scope(engine) as session:
        return list(session.exec(select(RelayItem).order_by(RelayItem.id)))


def test_a_webhook_from_the_simulator_reaches_the_second_url_unchanged(app, engine, sim, crm_server, receiver):
    user = sim.create_user("花子")
    sim.follow(user)
    assert receiver.calls == []  # /callback only stored it
    assert forward_relay(engine, allow_private=True, url=receiver.url) == 1
    ((_path, headers, body),) = receiver.calls
    assert line_signature_ok(body, headers["X-Line-Signature"])
    assert json.loads(body)["events"][0]["source"]["userId"] == user
    assert queued(engine) == []  # forwarded bodies are not kept


def test_the_body_is_byte_identical_even_with_odd_formatting(app, engine, client, receiver):
    raw = (
        json.dumps(
            webhook_body(event("follow", "U" + "f" * 32, follow={"isUnblocked": False})), ensure_ascii=False, indent=3
        )
        .replace('"follow"', '"follow"  ')
        .encode()
        + b"\n "
    )
    response = post_signed(client, raw)
    assert response.status_code == 200
    assert forward_relay(engine, allow_private=True, url=receiver.url) == 1
    ((_path, headers, body),) = receiver.calls
    assert body == raw and line_signature_ok(body, headers["X-Line-Signature"])
    assert headers["Content-Type"].startswith("application/json")


def test_bad_signatures_are_not_relayed(app, engine, client):
    body = json.dumps(webhook_body()).encode()
    assert client.post("/callback", data=body, headers={"X-Line-Signature": "forged"}).status_code == 400
    assert queued(engine) == []


def test_failures_are_retried_in_order_and_given_up(app, engine, client, receiver):
    for n in range(2):
        post_signed(client, webhook_body(event("follow", f"U{n:032x}", follow={"isUnblocked": False})))
    receiver.statuses = [502]
    now = utcnow()
    assert forward_relay(engine, allow_private=True, url=receiver.url, now=now) == 0
    first, second = queued(engine)
    assert (first.attempts, first.last_status_code, second.attempts) == (1, 502, 0)  # the second waits its turn
    assert (
        forward_relay(engine, allow_private=True, url=receiver.url, now=now) == 0
    )  # nothing is due before the first's retry
    assert forward_relay(engine, allow_private=True, url=receiver.url, now=first.next_attempt_at) == 2
    assert [call[2] for call in receiver.calls][1:] == [first.body, second.body]
    post_signed(client, webhook_body(event("follow", "U" + "9" * 32, follow={"isUnblocked": False})))
    dead = "http://127.0.0.1:9/relay"
    at = utcnow()
    for _ in range(3):
        forward_relay(engine, allow_private=True, url=dead, max_attempts=3, now=at, timeout=1.0)
        (item,) = queued(engine)
        at = item.next_attempt_at or at
    assert item.state == OutboxState.FAILED and item.last_error == "unreachable"


def test_relay_off_stores_nothing(make_app, client):
    from crm.db import get_engine

    plain = make_app()
    post_signed(plain.test_client(), webhook_body(event("follow", follow={"isUnblocked": False})))
    assert queued(get_engine(plain)) == []


def test_items_that_failed_for_good_are_pruned_after_the_retention(make_app):
    from crm.db import get_engine

    app = make_app(RELAY_FAILED_RETENTION_DAYS=14)
    engine, now = get_engine(app), utcnow()
    with session_scope(engine) as session:
        giving_up = RelayItem(body=b"given up now", signature="s", attempts=2, next_attempt_at=now)
        session.add_all(
            [
                giving_up,
                RelayItem(body=b"old", signature="s", state=OutboxState.FAILED, failed_at=now - timedelta(days=15)),
                RelayItem(body=b"recent", signature="s", state=OutboxState.FAILED, failed_at=now - timedelta(days=13)),
                RelayItem(body=b"waiting", signature="s", received_at=now - timedelta(days=30), next_attempt_at=now),
            ]
        )
        session.flush()
        relay.record_attempt(
            session, item_id=giving_up.id, attempts=2, now=now, status_code=500, error="http", max_attempts=3
        )
    relay_prune_tick(app, engine, None)
    assert [bytes(item.body) for item in queued(engine)] == [b"given up now", b"recent", b"waiting"]
    assert queued(engine)[0].failed_at == now
