"""Webhook and relay URLs may not reach this machine or a private network: refused when saved, refused again
when connecting (the checked address is the one connected to), and failures shown as categories, never as
exception text. The tests' own receivers run on 127.0.0.1, so these tests turn the development setting off."""

import pytest
from sqlmodel import select

from crm.db import session_scope
from crm.outbound.jobs import relay_tick, webhooks_tick
from crm.outbound.models import RelayItem, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from crm.timeutil import utcnow
from tests.console_helpers import csrf_token, signed_in_client

STRICT = {"OUTBOUND_ALLOW_PRIVATE_TARGETS": False}
PRIVATE_URLS = [
    "http://127.0.0.1:8080/hook",
    "http://localhost/hook",
    "http://[::1]/hook",
    "http://10.1.2.3/hook",
    "http://192.168.0.10/hook",
    "http://172.16.5.4/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://0.0.0.0/hook",
    "http://2130706433/hook",  # 127.0.0.1 written as one number
    "http://[::ffff:127.0.0.1]/hook",
    "http://[::ffff:169.254.169.254]/hook",
    "http://100.64.0.1/hook",
    "http://224.0.0.1/hook",
]


@pytest.fixture
def strict_app(make_app):
    return make_app(extra=STRICT)


@pytest.fixture
def strict_engine(strict_app):
    from crm.db import get_engine

    return get_engine(strict_app)


def _create(client, url: str):
    token = csrf_token(client, "/settings/webhooks")
    return client.post("/settings/webhooks", data={"url": url, "events": ["tag.added"], "csrf_token": token})


def _stored_endpoint(engine, url: str) -> int:
    """An endpoint row as if saved before the check existed (or its name resolved publicly back then)."""
    with session_scope(engine) as session:
        endpoint = WebhookEndpoint(url=url, events="webhook.test", secret="whsec_test")
        session.add(endpoint)
        session.flush()
        session.add(
            WebhookDelivery(
                endpoint_id=endpoint.id,
                event_id="evt-1",
                event_type="webhook.test",
                body='{"created_at":"2026-12-01T00:00:00+00:00","data":{},"id":"evt-1","type":"webhook.test"}',
                next_attempt_at=utcnow(),
            )
        )
        return endpoint.id


def test_private_and_local_urls_are_refused_when_saved(strict_app, strict_engine):
    client = signed_in_client(strict_app, "admin", locale="ja")
    for url in PRIVATE_URLS:
        response = _create(client, url)
        assert response.status_code == 400, url
        assert "プライベートネットワーク" in response.get_data(as_text=True), url
    response = _create(client, "https://no-such-host.invalid/hook")
    assert response.status_code == 400 and "名前解決" in response.get_data(as_text=True)
    with session_scope(strict_engine) as session:
        assert session.exec(select(WebhookEndpoint)).all() == []
    assert _create(client, "https://1.1.1.1/hook").status_code == 302  # a public address is fine


def test_an_endpoint_cannot_be_moved_to_a_private_url(strict_app, strict_engine):
    client = signed_in_client(strict_app, "admin", locale="ja")
    assert _create(client, "https://1.1.1.1/hook").status_code == 302
    with session_scope(strict_engine) as session:
        endpoint_id = session.exec(select(WebhookEndpoint.id)).one()
    token = csrf_token(client, f"/settings/webhooks/{endpoint_id}")
    response = client.post(
        f"/settings/webhooks/{endpoint_id}",
        data={"url": "http://169.254.169.254/", "events": ["tag.added"], "active": "y", "csrf_token": token},
    )
    assert response.status_code == 400
    with session_scope(strict_engine) as session:
        assert session.get(WebhookEndpoint, endpoint_id).url == "https://1.1.1.1/hook"


def test_the_worker_refuses_a_private_address_and_shows_only_the_category(strict_app, strict_engine, receiver):
    endpoint_id = _stored_endpoint(strict_engine, receiver.url.replace("127.0.0.1", "localhost"))
    webhooks_tick(strict_app, strict_engine, None)
    assert receiver.calls == []  # never connected
    with session_scope(strict_engine) as session:
        (attempt,) = session.exec(select(WebhookAttempt)).all()
    assert attempt.error == "forbidden" and attempt.status_code is None
    page = signed_in_client(strict_app, "admin", locale="ja").get(f"/settings/webhooks/{endpoint_id}")
    assert "許可されていない宛先" in page.get_data(as_text=True)


def test_a_closed_port_shows_cannot_connect_not_the_exception(make_app, receiver):
    from crm.db import get_engine

    app = make_app()  # private targets allowed, as in development
    engine = get_engine(app)
    endpoint_id = _stored_endpoint(engine, "http://127.0.0.1:9/hook")
    webhooks_tick(app, engine, None)
    html = signed_in_client(app, "admin", locale="ja").get(f"/settings/webhooks/{endpoint_id}").get_data(as_text=True)
    assert "接続できません" in html
    assert not any(text in html for text in ("Errno", "refused", "ConnectionError", "Max retries"))


def test_the_relay_refuses_a_private_address(make_app, receiver):
    from crm.db import get_engine

    app = make_app(LINE_WEBHOOK_RELAY_URL=receiver.url, extra=STRICT)
    engine = get_engine(app)
    with session_scope(engine) as session:
        session.add(RelayItem(body=b'{"events":[]}', signature="sig", next_attempt_at=utcnow()))
    relay_tick(app, engine, None)
    assert receiver.calls == []
    with session_scope(engine) as session:
        (item,) = session.exec(select(RelayItem)).all()
    assert item.last_error == "forbidden" and item.attempts == 1
    html = signed_in_client(app, "admin", locale="ja").get("/settings/webhooks").get_data(as_text=True)
    assert "許可されていない宛先" in html


def test_an_endpoint_whose_host_stopped_resolving_can_still_be_paused(strict_app, strict_engine):
    endpoint_id = _stored_endpoint(strict_engine, "https://gone.invalid/hook")
    client = signed_in_client(strict_app, "admin", locale="ja")
    token = csrf_token(client, f"/settings/webhooks/{endpoint_id}")
    response = client.post(
        f"/settings/webhooks/{endpoint_id}",
        data={"url": "https://gone.invalid/hook", "events": ["tag.added"], "csrf_token": token},
    )
    assert response.status_code == 302
    with session_scope(strict_engine) as session:
        assert session.get(WebhookEndpoint, endpoint_id).active is False
