"""The console menu in a real browser: a side menu on a desktop, behind メニュー on a phone (opens without
scrolling sideways, touch-sized entries), and a proportional Japanese face for the text."""

import pytest
from playwright.sync_api import expect

from tests.browser.menu import open_area
from tests.factories import PASSWORD, make_staff


def _sign_in(page, console_url, app):
    page.goto(f"{console_url}/login")
    page.fill("input[name=email]", make_staff(app, "admin"))
    page.fill("input[name=password]", PASSWORD)
    page.click("form button[type=submit]")
    expect(page.get_by_role("heading", name="今日")).to_be_visible()


def test_a_desktop_shows_the_grouped_side_menu(app, console_url, page):
    page.set_viewport_size({"width": 1366, "height": 900})
    _sign_in(page, console_url, app)
    menu = page.locator("#main-nav")
    expect(menu).to_be_visible()
    expect(page.locator("label[for=nav-toggle]")).to_be_hidden()
    assert menu.locator("h2").all_inner_texts() == ["友だち・チャット", "配信", "分析", "設定"]
    menu_box, main_box = menu.bounding_box(), page.locator("main").bounding_box()
    assert menu_box["x"] + menu_box["width"] <= main_box["x"] + 1  # beside the page, not above it
    open_area(page, "タグ")
    expect(page).to_have_url(f"{console_url}/tags")
    expect(menu.locator("[aria-current=page]")).to_have_text("タグ")


@pytest.mark.parametrize("width", [360, 390, 768])
def test_a_phone_opens_the_menu_from_its_button(app, console_url, page, width):
    page.set_viewport_size({"width": width, "height": 800})
    _sign_in(page, console_url, app)
    menu = page.locator("#main-nav")
    expect(menu).to_be_hidden()
    heading_top = page.get_by_role("heading", name="今日").bounding_box()["y"]
    assert heading_top < 200, "the closed menu leaves the page at the top of the screen"
    page.locator("label[for=nav-toggle]").click()
    expect(menu).to_be_visible()
    heights = menu.locator("a").evaluate_all("links => links.map(link => link.getBoundingClientRect().height)")
    assert min(heights) >= 44
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 1
    menu.get_by_role("link", name="一斉配信", exact=True).click()
    expect(page).to_have_url(f"{console_url}/broadcasts")
    expect(menu).to_be_hidden()  # a new page starts with the menu closed


def test_the_console_text_is_set_in_a_proportional_face(app, console_url, page):
    _sign_in(page, console_url, app)
    widths = page.evaluate(
        """() => ["iiiiiiiiii", "WWWWWWWWWW"].map(text => {
            const span = document.createElement("span");
            span.textContent = text;
            document.querySelector("main").appendChild(span);
            const width = span.getBoundingClientRect().width;
            span.remove();
            return width;
        })"""
    )
    assert widths[0] < widths[1] * 0.6, widths
