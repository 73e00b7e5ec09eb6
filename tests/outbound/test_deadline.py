"""Each outbound request ends by its wall-clock deadline even when the receiver dribbles its answer, and a slow
endpoint does not hold the others: every endpoint is served by its own thread in the same tick."""

import time

import pytest
from sqlmodel import select

from crm.db import session_scope
from crm.outbound.jobs import webhooks_tick
from crm.outbound.models import OutboxState, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from crm.timeutil import utcnow
from tests.outbound.receiver import SlowReceiver

DEADLINE = 1.0


@pytest.fixture
def fast_app(make_app):
    return make_app(WEBHOOK_TIMEOUT_SECONDS=DEADLINE)


@pytest.fixture
def fast_engine(fast_app):
    from crm.db import get_engine

    return get_engine(fast_app)


@pytest.fixture
def slow_receiver(request):
    mode, seconds = request.param
    server = SlowReceiver(mode, seconds)
    yield server
    server.stop()


def _endpoint_with_events(engine, url: str, count: int) -> int:
    with session_scope(engine) as session:
        endpoint = WebhookEndpoint(url=url, events="webhook.test", secret="whsec_test")
        session.add(endpoint)
        session.flush()
        for n in range(count):
            event_id = f"evt-{endpoint.id}-{n}"
            body = f'{{"created_at":"2026-12-01T00:00:00+00:00","data":{{}},"id":"{event_id}","type":"webhook.test"}}'
            session.add(
                WebhookDelivery(
                    endpoint_id=endpoint.id,
                    event_id=event_id,
                    event_type="webhook.test",
                    body=body,
                    next_attempt_at=utcnow(),
                )
            )
        return endpoint.id


def _states(engine, endpoint_id: int) -> list[tuple[str, int]]:
    with session_scope(engine) as session:
        rows = session.exec(
            select(WebhookDelivery.state, WebhookDelivery.attempts)
            .where(WebhookDelivery.endpoint_id == endpoint_id)
            .order_by(WebhookDelivery.id)
        )
        return [tuple(row) for row in rows]


@pytest.mark.parametrize("slow_receiver", [("dribble", 8.0)], indirect=True)
def test_a_receiver_dribbling_its_headers_is_cut_at_the_deadline(fast_app, fast_engine, slow_receiver):
    endpoint_id = _endpoint_with_events(fast_engine, slow_receiver.url, 1)
    started = time.monotonic()
    webhooks_tick(fast_app, fast_engine, None)
    took = time.monotonic() - started
    assert DEADLINE <= took < DEADLINE + 2.5  # the receiver would have kept it 8 s, one header line every 0.2 s
    with session_scope(fast_engine) as session:
        (attempt,) = session.exec(select(WebhookAttempt)).all()
    assert attempt.error == "timeout" and attempt.status_code is None
    assert _states(fast_engine, endpoint_id) == [(OutboxState.PENDING, 1)]  # retried later with backoff


@pytest.mark.parametrize("slow_receiver", [("late", 0.8)], indirect=True)
def test_a_slow_endpoint_does_not_hold_the_others(fast_app, fast_engine, slow_receiver, receiver):
    slow_id = _endpoint_with_events(fast_engine, slow_receiver.url, 4)  # claimed first: its rows are older
    healthy_id = _endpoint_with_events(fast_engine, receiver.url, 2)
    webhooks_tick(fast_app, fast_engine, None)
    assert _states(fast_engine, healthy_id) == [(OutboxState.DELIVERED, 1)] * 2
    assert receiver.arrived[-1] < slow_receiver.answered[0]  # served while the slow one was still thinking
    slow = _states(fast_engine, slow_id)
    assert slow[0] == (OutboxState.DELIVERED, 1)  # each answer came within the deadline
    assert (OutboxState.PENDING, 0) in slow  # past its time for this tick: the rest waits, uncounted


@pytest.mark.parametrize("slow_receiver", [("dribble", 8.0)], indirect=True)
def test_the_public_address_adapter_keeps_the_deadline_and_the_name(monkeypatch, slow_receiver, receiver):
    import requests_hardened.ip_filter_adapter as filter_adapter

    from crm.outbound import transport

    # A name that "resolves" to the test's receivers: the connection goes to the checked address.
    monkeypatch.setattr(filter_adapter, "filter_host", lambda host, port, allow_loopback: "127.0.0.1")
    started = time.monotonic()
    outcome = transport.post(slow_receiver.url.replace("127.0.0.1", "hooks.example"), b"{}", {}, deadline=DEADLINE)
    assert outcome == (None, "timeout") and time.monotonic() - started < DEADLINE + 2.5
    assert transport.post(receiver.url.replace("127.0.0.1", "hooks.example"), b"{}", {}, deadline=DEADLINE) == (
        200,
        None,
    )
    assert receiver.calls[0][1]["Host"].startswith("hooks.example:")  # the name, not the address, in Host
