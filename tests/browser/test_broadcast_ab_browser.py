"""A marketer builds an A/B broadcast in a real browser, Japanese, at desktop and phone width: the content
becomes variants A and B with plain form buttons, the test friend receives both marked by variant, the
confirmation page shows the split, the engine sends each friend their variant through the LINE simulator, and
the statistics page shows each variant's figures (a click counted for the clicker's variant)."""

import re

import pytest
import requests
from playwright.sync_api import expect
from sqlmodel import select

from crm.broadcasts.delivery.jobs import delivery_tick
from crm.broadcasts.delivery.schedule import DeliverySettings
from crm.broadcasts.models import BroadcastRecipient, BroadcastVariant
from crm.db import get_engine, session_scope
from crm.line.runtime import line_client
from tests.browser.pages import sign_in
from tests.browser.test_broadcast_browser import _friend_id, _world
from tests.factories import make_staff


def _variants_by_user(app, users: list[str]) -> dict[str, str]:
    """{LINE user id: the label of the variant the friend was drawn into}."""
    with session_scope(get_engine(app)) as session:
        labels = dict(session.exec(select(BroadcastVariant.id, BroadcastVariant.label)).all())
        rows = dict(session.exec(select(BroadcastRecipient.friend_id, BroadcastRecipient.variant_id)).all())
    return {user: labels[rows[_friend_id(app, user)]] for user in users}


@pytest.mark.parametrize("width", [1366, 390])
def test_build_an_ab_broadcast_send_it_and_read_each_variant(app, sim, console_url, page, width):
    page.set_viewport_size({"width": width, "height": 900})
    vips, other, _tag_id = _world(app, sim)
    users = [*vips, other]
    sign_in(page, console_url, make_staff(app, "marketer"))
    page.goto(f"{console_url}/broadcasts/test-friends")
    page.fill("input[name=friend_id]", str(_friend_id(app, other)))
    page.click("form.card button[type=submit]")

    page.goto(f"{console_url}/broadcasts/new")
    page.fill("input[name=name]", "春のA/Bテスト")
    page.select_option("select[name=messages-0-kind]", "text")
    page.fill("textarea[name=messages-0-text]", "{name}さん、Aのご案内 https://shop.example/a")
    page.fill("input[name=control_percent]", "0")
    page.get_by_role("button", name="A/Bテストにする（パターンBを追加）").click()
    expect(page.locator("fieldset.ab-variant")).to_have_count(2)
    expect(page.locator("input[name=variants-1-weight]")).to_have_value("50")
    page.fill("textarea[name=variants-1-messages-0-text]", "{name}さん、Bのご案内 https://shop.example/b")
    page.fill("input[name=variants-0-weight]", "70")  # 70 + 50: refused, the draft is not saved
    page.get_by_role("button", name="下書きを保存").last.click()
    expect(page.locator("#ab-variants .error")).to_contain_text("合計100%にしてください（現在120%）")
    page.fill("input[name=variants-1-weight]", "30")
    if width == 390:
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.get_by_role("button", name="下書きを保存").last.click()
    expect(page.locator("#broadcast-status")).to_have_attribute("data-status", "draft")
    expect(page.locator(".broadcast-variant")).to_have_count(2)
    broadcast_url = page.url

    page.goto(broadcast_url + "/preview")
    expect(page.locator(".preview-variant")).to_have_count(2)
    page.get_by_role("button", name="テスト配信する").click()
    expect(page.locator(".flash-success")).to_contain_text("パターンA, Bのテスト")
    tests = [entry["messages"][0]["text"] for entry in sim.inbox(other)]
    assert [text.split(" ")[0] + " " + text.split(" ")[1] for text in tests] == ["[テスト A]", "[テスト B]"]
    assert "Aのご案内" in tests[0] and "Bのご案内" in tests[1]

    page.goto(broadcast_url + "/confirm")
    split = page.locator("#ab-split tbody tr")
    expect(split).to_have_count(2)
    expect(split.nth(0)).to_contain_text("70%")
    expect(split.nth(1)).to_contain_text("30%")
    if width == 390:
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.check("input[name=confirm]")
    page.get_by_role("button", name="確定").click()

    settings = DeliverySettings.from_config(app.config)
    delivery_tick(get_engine(app), line_client(app), settings=settings)
    drawn = _variants_by_user(app, users)
    for user in users:
        received = [
            entry["messages"][0]["text"] for entry in sim.inbox(user) if "[テスト" not in entry["messages"][0]["text"]
        ]
        assert len(received) == 1 and f"{drawn[user]}のご案内" in received[0], (user, received)
    clicker = vips[0]
    link = re.search(r"https?://\S+/r/\S+", sim.inbox(clicker)[-1]["messages"][0]["text"]).group(0)
    requests.get(link.replace(app.config["PUBLIC_BASE_URL"], console_url), allow_redirects=False, timeout=10)

    page.goto(broadcast_url + "/stats")
    rows = page.locator("#variant-figures tbody tr")
    expect(rows).to_have_count(2)
    sent = dict.fromkeys("AB", 0)
    for user in users:
        sent[drawn[user]] += 1
    for index, label in enumerate("AB"):
        row = rows.nth(index)
        expect(row).to_have_attribute("data-variant", label)
        expect(row.locator("[data-figure=sent]")).to_have_text(str(sent[label]))
        expect(row.locator("[data-figure=clicks]")).to_have_text("1" if drawn[clicker] == label else "0")
    if width == 390:
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
