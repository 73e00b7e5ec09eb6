"""The attention mark in a browser, at desktop and phone width: one click on the friend page, then the friend
list filtered to those who need attention, and the same mark set on ticked friends in bulk."""

import pytest
from playwright.sync_api import expect

from tests.browser.pages import sign_in
from tests.factories import make_friends, make_staff


@pytest.mark.parametrize("width", [1366, 390])
def test_mark_a_friend_then_filter_the_list(app, console_url, page, width):
    page.set_viewport_size({"width": width, "height": 900})
    marked, other = make_friends(app, [{"display_name": "佐藤 花子"}, {"display_name": "鈴木 一郎"}])
    sign_in(page, console_url, make_staff(app, "staff"))
    page.goto(f"{console_url}/friends/{marked}")
    page.locator("form.attention-buttons button[value=needed]").click()
    badge = page.locator("#attention .attention-badge")
    expect(badge).to_have_attribute("data-attention", "needed")  # waits for the page the click loads
    expect(badge).to_have_text("要対応")
    expect(page.locator("form.attention-buttons button[value=needed]")).to_have_attribute("aria-pressed", "true")

    page.goto(f"{console_url}/friends")
    page.locator("details.friend-filters summary").click()
    page.locator("#attention").select_option("needed")
    page.locator("#friend-filters button[type=submit]").click()
    page.wait_for_url("**attention=needed**")
    expect(page.locator(f"tr[data-friend='{other}']")).to_have_count(0)
    expect(page.locator(f"tr[data-friend='{marked}']")).to_be_visible()
    expect(page.locator(f"tr[data-friend='{marked}'] .attention-badge")).to_have_text("要対応")

    page.goto(f"{console_url}/")
    expect(page.locator("[data-figure=attention_needed]")).to_have_text("1")


def test_mark_ticked_friends_in_bulk(app, console_url, page):
    make_friends(app, [{"display_name": f"常連 {n}"} for n in range(2)])
    sign_in(page, console_url, make_staff(app, "staff"))
    page.goto(f"{console_url}/friends")
    page.locator("input[data-select-all]").check()
    page.locator("#bulk-form select[name=action]").select_option("attention")
    page.locator("#bulk-form select[name=mark]").select_option("in_progress")
    page.locator("#bulk-form button[type=submit]").click()
    expect(page.locator("[data-total]")).to_have_attribute("data-total", "2")
    page.locator("form.bulk-confirm button[type=submit]").click()
    expect(page.locator(".attention-badge.attention-in_progress")).to_have_count(2)
