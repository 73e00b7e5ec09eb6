"""The attention mark in a browser, at desktop and phone width: one click on the friend page, then the friend
list filtered to those who need attention, and the same mark set on ticked friends in bulk."""

import pytest

from tests.browser.test_broadcast_browser import _sign_in
from tests.factories import make_friends, make_staff


@pytest.mark.parametrize("width", [1366, 390])
def test_mark_a_friend_then_filter_the_list(app, console_url, page, width):
    page.set_viewport_size({"width": width, "height": 900})
    marked, other = make_friends(app, [{"display_name": "佐藤 花子"}, {"display_name": "鈴木 一郎"}])
    _sign_in(page, console_url, make_staff(app, "staff"))
    page.goto(f"{console_url}/friends/{marked}")
    page.locator("form.attention-buttons button[value=needed]").click()
    badge = page.locator("#attention .attention-badge")
    assert badge.get_attribute("data-attention") == "needed"
    assert badge.inner_text() == "要対応"
    assert page.locator("form.attention-buttons button[value=needed]").get_attribute("aria-pressed") == "true"

    page.goto(f"{console_url}/friends")
    page.locator("details.friend-filters summary").click()
    page.locator("#attention").select_option("needed")
    page.locator("#friend-filters button[type=submit]").click()
    assert page.locator(f"tr[data-friend='{marked}']").is_visible()
    assert page.locator(f"tr[data-friend='{other}']").count() == 0
    assert page.locator(f"tr[data-friend='{marked}'] .attention-badge").inner_text() == "要対応"

    page.goto(f"{console_url}/")
    assert page.locator("[data-figure=attention_needed]").inner_text() == "1"


def test_mark_ticked_friends_in_bulk(app, console_url, page):
    make_friends(app, [{"display_name": f"常連 {n}"} for n in range(2)])
    _sign_in(page, console_url, make_staff(app, "staff"))
    page.goto(f"{console_url}/friends")
    page.locator("input[data-select-all]").check()
    page.locator("#bulk-form select[name=action]").select_option("attention")
    page.locator("#bulk-form select[name=mark]").select_option("in_progress")
    page.locator("#bulk-form button[type=submit]").click()
    assert page.locator("[data-total]").get_attribute("data-total") == "2"
    page.locator("form.bulk-confirm button[type=submit]").click()
    assert page.locator(".attention-badge.attention-in_progress").count() == 2
