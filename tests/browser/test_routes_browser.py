"""An inflow route end to end in a browser at desktop and phone width: a marketer creates a route that tags
friends; a visitor opens /i/<code>, goes through the simulator's LINE Login and add-friend screens; the
friend's page shows the route and the tag."""

import pytest
from playwright.sync_api import expect
from sqlmodel import select

from crm.db import get_engine, session_scope
from crm.routes.models import InflowRoute, RouteArrival
from tests.browser.test_survey_browser import sign_in
from tests.factories import make_staff, make_tag
from tests.routes.conftest import login_settings


@pytest.fixture
def app(make_app, simulator):
    return make_app(**login_settings(simulator.url))


@pytest.mark.parametrize("width", [1366, 390])
def test_a_route_from_creation_to_the_friend_page(app, console_url, browser, width):
    app.config["PUBLIC_BASE_URL"] = console_url  # where LINE Login sends the visitor back
    make_tag(app, "ポスター経由")
    viewport = {"width": width, "height": 900}
    staff = browser.new_context(viewport=viewport, locale="ja-JP")
    page = staff.new_page()
    sign_in(page, console_url, make_staff(app, "marketer"))
    expect(page).to_have_url(f"{console_url}/")
    page.goto(f"{console_url}/routes/new")
    page.wait_for_load_state()
    page.get_by_label("名前").fill("駅前ポスター")
    row = page.locator(".action-editor .action-row").first
    row.locator(".action-type").select_option(label="タグを付ける")
    row.locator(".action-params:visible").get_by_label("タグ").select_option(label="ポスター経由")
    page.locator("#save-route").click()
    expect(page.get_by_text("流入経路を保存しました。")).to_be_visible()
    expect(page.locator("#route-qr")).to_be_visible()
    url = page.locator("#route-public-url").input_value()
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 1

    visitor = browser.new_context(viewport=viewport, locale="ja-JP").new_page()
    visitor.goto(url)  # Chromium is an external browser: the page says so and offers to go on
    expect(visitor.locator("#external-browser")).to_contain_text("LINE以外のブラウザ")
    visitor.locator("#continue-login").click()
    expect(visitor.locator("#login-consent")).to_be_visible()
    visitor.locator("#new-user-choice").check()
    visitor.locator("#new-user-name").fill("駅前の花子")
    visitor.locator("#login-allow").click()
    expect(visitor.locator("#login-add-friend")).to_be_visible()
    visitor.locator("#add-friend-yes").click()
    expect(visitor.locator("#route-done")).to_contain_text("友だち追加ありがとうございます")

    with session_scope(get_engine(app)) as session:
        route_id = session.exec(select(InflowRoute.id)).one()
        friend_id = session.exec(select(RouteArrival.friend_id)).one()
    page.goto(f"{console_url}/routes/{route_id}")
    expect(page.locator('[data-count="new"]')).to_have_text("1")
    page.goto(f"{console_url}/friends/{friend_id}")
    expect(page.locator("#routes")).to_contain_text("駅前ポスター")
    expect(page.locator("#routes")).to_contain_text("最初の経路")
    expect(page.get_by_text("ポスター経由").first).to_be_visible()
    staff.close()
