"""A marketer's broadcast in a real browser: build a segment and see its count, compose a broadcast and see the
live recipient count, test-send it to a test friend, schedule it (Asia/Tokyo time), let the delivery engine send
it through the LINE simulator, click a tracked link, and read the statistics."""

import json
import re
from datetime import UTC, datetime

import requests
from playwright.sync_api import expect
from sqlmodel import select

from crm.broadcasts.delivery.jobs import delivery_tick
from crm.broadcasts.delivery.schedule import DeliverySettings
from crm.db import get_engine, session_scope
from crm.friends.jobs import fetch_due_profiles
from crm.friends.models import Friend
from crm.line.runtime import line_client
from crm.staff.audit import Actor
from crm.tags.models import Tag
from crm.tags.service import add_tag
from tests.browser.pages import sign_in
from tests.factories import make_staff

SEND_AT_TOKYO = "2030-01-01T10:00"
SEND_AT_UTC = datetime(2030, 1, 1, 1, 0, tzinfo=UTC)


def _world(app, sim) -> tuple[list[str], str, int]:
    """Three friends following (two tagged VIP); return the VIP user ids, the other's, and the VIP tag id."""
    users = [sim.create_user(name) for name in ("佐藤 花子", "鈴木 一郎", "高橋 三郎")]
    for user in users:
        sim.follow(user)
    fetch_due_profiles(get_engine(app), line_client(app))
    with session_scope(get_engine(app)) as session:
        tag = Tag(name="VIP")
        session.add(tag)
        session.flush()
        for user in users[:2]:
            friend_id = session.exec(select(Friend.id).where(Friend.line_user_id == user)).one()
            add_tag(session, friend_id=friend_id, tag_id=tag.id, actor=Actor.system("test"))
        return users[:2], users[2], tag.id


def _friend_id(app, user: str) -> int:
    with session_scope(get_engine(app)) as session:
        return session.exec(select(Friend.id).where(Friend.line_user_id == user)).one()


def _build_segment(page, console_url, tag_id):
    page.goto(f"{console_url}/segments/new")
    page.fill("input[name=name]", "VIP")
    page.click("#segment-json summary")
    page.fill("#segment-tree", json.dumps({"type": "all", "conditions": [{"type": "tag", "tag_id": tag_id}]}))
    page.dispatch_event("#segment-tree", "change")
    expect(page.locator("#segment-count")).to_contain_text("2")
    page.click("#segment-form button[type=submit]")


def _compose(page, console_url):
    page.goto(f"{console_url}/broadcasts/new")
    page.fill("input[name=name]", "Spring sale")
    page.fill("textarea[name=purpose]", "Tell VIPs first")
    page.select_option("select[name=messages-0-kind]", "text")
    page.fill("textarea[name=messages-0-text]", "{name}さん、セールです https://shop.example/sale")
    expect(page.locator("#recipient-count")).to_have_attribute("data-count", "3")
    page.select_option("select[name=segment]", label="VIP")
    expect(page.locator("#recipient-count")).to_have_attribute("data-count", "2")
    page.fill("input[name=control_percent]", "0")
    page.click("form.broadcast-composer button[type=submit]")
    expect(page.locator("#broadcast-status")).to_have_attribute("data-status", "draft")


def _test_send(page, console_url, tester_id):
    page.goto(f"{console_url}/broadcasts/test-friends")
    page.fill("input[name=friend_id]", str(tester_id))
    page.fill("input[name=label]", "My phone")
    page.click("form.card button[type=submit]")
    expect(page.locator("#test-friends")).to_contain_text("My phone")


def test_segment_compose_schedule_send_and_statistics(app, sim, console_url, page):
    vips, other, tag_id = _world(app, sim)
    sign_in(page, console_url, make_staff(app, "marketer", locale="en"))
    _build_segment(page, console_url, tag_id)
    _test_send(page, console_url, _friend_id(app, other))
    _compose(page, console_url)
    broadcast_url = page.url

    page.get_by_role("link", name="Preview and test send").click()
    expect(page.locator(".preview-text")).to_contain_text("高橋 三郎さん、セールです")
    page.get_by_role("button", name="Send test").click()
    expect(page.locator(".flash-success")).to_contain_text("Test sent to 1 test friends.")
    assert [m["text"] for entry in sim.inbox(other) for m in entry["messages"]][0].startswith("[テスト]")

    page.goto(broadcast_url)
    page.get_by_role("link", name="Send or schedule…").click()
    expect(page.locator("#confirm-count")).to_have_attribute("data-count", "2")
    expect(page.get_by_text("A sent broadcast cannot be recalled.", exact=True)).to_be_visible()
    page.check("input[name=when][value=later]")
    page.fill("input[name=at]", SEND_AT_TOKYO)
    page.check("input[name=confirm]")
    page.get_by_role("button", name="Confirm").click()
    expect(page.locator("#broadcast-status")).to_have_attribute("data-status", "scheduled")
    expect(page.locator("#broadcast-schedule")).to_have_text("2030/01/01 10:00")

    settings = DeliverySettings.from_config(app.config)
    delivery_tick(get_engine(app), line_client(app), now=SEND_AT_UTC.replace(minute=1), settings=settings)
    received = {user: [m["text"] for entry in sim.inbox(user) for m in entry["messages"]] for user in vips}
    assert [len(texts) for texts in received.values()] == [1, 1]
    link = re.search(r"https?://\S+/r/\S+", received[vips[0]][0]).group(0)
    assert received[vips[0]][0].startswith("佐藤 花子さん、セールです")
    assert len(sim.inbox(other)) == 1  # only the test
    click = requests.get(link.replace(app.config["PUBLIC_BASE_URL"], console_url), allow_redirects=False, timeout=10)
    assert click.headers["Location"] == "https://shop.example/sale"

    page.goto(broadcast_url + "/stats")
    figures = {
        name: page.locator(f"[data-figure={name}] .value").inner_text()
        for name in ("recipients", "sent", "failed", "clicks", "unique_clickers", "click_rate")
    }
    assert figures == {
        "recipients": "2",
        "sent": "2",
        "failed": "0",
        "clicks": "1",
        "unique_clickers": "1",
        "click_rate": "50.0%",
    }
