"""An admin registers a webhook endpoint in a real browser, copies its secret, and a follow in the LINE
simulator reaches the receiver signed with it; the test button's attempt shows on the page."""

import json

import pytest
from playwright.sync_api import expect

from crm.db import get_engine
from crm.outbound.delivery import verify
from crm.outbound.jobs import deliver_webhooks
from tests.factories import PASSWORD, make_staff
from tests.outbound.receiver import Receiver


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.stop()


def test_register_an_endpoint_and_receive_a_signed_follow(app, sim, console_url, page, receiver):
    email = make_staff(app, "admin", locale="en")
    page.goto(f"{console_url}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("form button[type=submit]")
    page.get_by_role("navigation").get_by_role("link", name="Webhooks").click()
    page.fill("input[name=url]", receiver.url)
    page.check("input[name=events][value='friend.followed']")
    page.get_by_role("button", name="Add endpoint").click()
    secret = page.locator("[data-secret]").inner_text()
    assert secret.startswith("whsec_")

    user = sim.create_user("佐藤 花子")
    sim.follow(user)
    assert deliver_webhooks(get_engine(app), allow_private=True) == 1
    ((_path, headers, body),) = receiver.calls
    assert verify(secret, body, headers["X-CRM-Signature"])
    assert json.loads(body)["data"]["friend"]["line_user_id"] == user

    page.get_by_role("button", name="Send test event").click()
    expect(page.locator(".flash-success")).to_be_visible()
    assert deliver_webhooks(get_engine(app), allow_private=True) == 1
    page.reload()
    expect(page.locator("tr[data-ok='yes']")).to_have_count(2)
    expect(page.get_by_text("webhook.test")).to_be_visible()
