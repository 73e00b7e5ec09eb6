"""The settings pages: register an endpoint, see its secret and attempts (Japan time), send a test event;
start the followers import; only settings.manage may open them."""

import re

import pytest
from sqlmodel import select

from crm.db import session_scope
from crm.outbound.jobs import deliver_webhooks
from crm.outbound.models import WebhookEndpoint
from crm.permissions import can
from crm.staff.models import AuditEntry
from tests.console_helpers import csrf_token, signed_in_client
from tests.outbound.helpers import deliveries

PAGES = ["/settings/webhooks", "/settings/followers-import"]


def create(client, url, events, **extra):
    token = csrf_token(client, "/settings/webhooks")
    return client.post(
        "/settings/webhooks",
        data={"url": url, "events": events, "description": "Shop system", "active": "y", "csrf_token": token, **extra},
    )


def test_admin_registers_an_endpoint_sees_its_secret_and_a_test_delivery(app, engine, receiver):
    client = signed_in_client(app, "admin", locale="en")
    response = create(client, receiver.url, ["friend.followed", "tag.added"])
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    with session_scope(engine) as session:
        endpoint = session.exec(select(WebhookEndpoint)).one()
        assert session.exec(select(AuditEntry).where(AuditEntry.action == "webhook.created")).one()
    assert endpoint.events == "friend.followed tag.added" and endpoint.secret.startswith("whsec_")
    assert endpoint.secret in page and "No attempts yet." in page
    token = csrf_token(client, f"/settings/webhooks/{endpoint.id}")
    assert client.post(f"/settings/webhooks/{endpoint.id}/test", data={"csrf_token": token}).status_code == 302
    assert deliver_webhooks(engine, allow_private=True) == 1
    ((_path, headers, _body),) = receiver.calls
    assert headers["X-CRM-Event-Type"] == "webhook.test"
    page = client.get(f"/settings/webhooks/{endpoint.id}").get_data(as_text=True)
    assert 'data-ok="yes"' in page and "HTTP 200" in page
    assert re.search(r"\d{4}/\d\d/\d\d \d\d:\d\d:\d\d", page)  # the attempt's time, shown in Japan time


def test_bad_input_is_refused_with_a_message_and_nothing_saved(app, engine):
    client = signed_in_client(app, "admin", locale="en")
    for url, events in [
        ("ftp://example.com/x", ["tag.added"]),
        ("https://example.com/x", []),
        ("not a url", ["tag.added"]),
        ("https://example.com/x", ["tag.exploded"]),
    ]:
        response = create(client, url, events)
        assert response.status_code == 400, (url, events)
        assert 'class="error"' in response.get_data(as_text=True)
    with session_scope(engine) as session:
        assert session.exec(select(WebhookEndpoint)).all() == []


def test_edit_pause_and_delete(app, engine, receiver):
    client = signed_in_client(app, "admin", locale="en")
    location = create(client, receiver.url, ["tag.added"]).headers["Location"]
    token = csrf_token(client, location)
    response = client.post(location, data={"url": receiver.url, "events": ["tag.removed"], "csrf_token": token})
    assert response.status_code == 302
    with session_scope(engine) as session:
        endpoint = session.exec(select(WebhookEndpoint)).one()
        assert (endpoint.events, endpoint.active) == ("tag.removed", False)
    token = csrf_token(client, location)
    client.post(f"{location}/test", data={"csrf_token": token})
    assert len(deliveries(engine)) == 1
    assert deliver_webhooks(engine, allow_private=True) == 0  # a paused endpoint gets nothing until it is active again
    assert client.post(f"{location}/delete", data={"csrf_token": token}).status_code == 302
    with session_scope(engine) as session:
        assert session.exec(select(WebhookEndpoint)).all() == []
    assert deliveries(engine) == []
    assert client.get(location).status_code == 404


def test_followers_import_can_be_started_from_its_page(app, engine):
    client = signed_in_client(app, "admin", locale="en")
    assert "No import has run yet." in client.get("/settings/followers-import").get_data(as_text=True)
    token = csrf_token(client, "/settings/followers-import")
    assert client.post("/settings/followers-import", data={"csrf_token": token}).status_code == 302
    page = client.get("/settings/followers-import").get_data(as_text=True)
    assert 'data-import-state="running"' in page and 'http-equiv="refresh"' in page
    assert client.post("/settings/followers-import", data={"csrf_token": token}).status_code == 302
    assert "An import is already running." in client.get("/settings/followers-import").get_data(as_text=True)


@pytest.mark.parametrize("role", ["admin", "marketer", "editor", "staff", "analyst"])
@pytest.mark.db_agnostic  # a permission check: the guard refuses before the view runs
def test_only_settings_managers_open_the_pages(app, role):
    client = signed_in_client(app, role, locale="en")
    for path in PAGES:
        expected = 200 if can(role, "settings.manage") else 403
        assert client.get(path).status_code == expected, (role, path)
    nav = client.get("/").get_data(as_text=True)
    assert ('href="/settings/webhooks"' in nav) == can(role, "settings.manage")
