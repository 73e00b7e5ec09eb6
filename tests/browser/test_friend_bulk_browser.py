"""Bulk tagging from the friend list in a browser: tick every friend on the page with one box, confirm, apply."""

import pytest
from playwright.sync_api import expect

from tests.browser.pages import sign_in
from tests.factories import make_friends, make_staff, make_tag


@pytest.mark.parametrize("width", [1366, 390])
def test_tick_the_page_then_tag_the_ticked_friends(app, console_url, page, width):
    page.set_viewport_size({"width": width, "height": 900})
    make_friends(app, [{"display_name": f"常連 {n}"} for n in range(3)])
    make_tag(app, "冬のセール")
    sign_in(page, console_url, make_staff(app, "staff"))
    page.goto(f"{console_url}/friends")
    page.locator("input[data-select-all]").check()
    expect(page.locator("input[name=friend]:checked")).to_have_count(3)
    page.locator("#bulk-form button[type=submit]").click()
    expect(page.locator("[data-total]")).to_have_attribute("data-total", "3")
    page.locator("form.bulk-confirm button[type=submit]").click()
    expect(page.locator(".chips .tag", has_text="冬のセール")).to_have_count(3)
