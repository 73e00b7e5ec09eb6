"""A marketer sets up a conversion point, sees the purchases in the RFM grid, opens a cell and saves it as a
segment to send to, in a real browser at desktop and phone width."""

import pytest
from playwright.sync_api import expect

from crm.conversions.jobs import rfm_tick
from crm.db import get_engine
from tests.browser.menu import open_area
from tests.browser.pages import no_sideways_scroll, sign_in
from tests.conversions.helpers import convert, make_point
from tests.factories import make_friend, make_staff, make_tag


@pytest.mark.parametrize("width", [1366, 390])
def test_a_point_then_the_rfm_grid_then_a_segment(app, console_url, page, width):
    page.set_viewport_size({"width": width, "height": 900})
    make_tag(app, "購入済")
    shop = make_point(app, "来店予約", value_type="none")
    for n in range(1, 4):
        convert(app, shop, make_friend(app, n=n))
    sign_in(page, console_url, make_staff(app, "marketer"))
    open_area(page, "コンバージョン")
    expect(page.get_by_role("heading", name="コンバージョン", exact=True)).to_be_visible()
    page.get_by_role("link", name="コンバージョンポイントを作成").click()
    expect(page.locator("input[name=name]")).to_be_visible()
    page.wait_for_load_state()
    page.fill("input[name=name]", "購入")
    page.select_option("select[name=counting]", "every")
    page.fill("textarea[name=origins]", "https://shop.example")
    no_sideways_scroll(page, width, "the point form")
    page.get_by_role("button", name="保存", exact=True).click()
    expect(page.locator(".flash-success")).to_contain_text("コンバージョンポイント「購入」を保存しました。")
    expect(page.locator("tr[data-point]")).to_have_count(2)
    expect(page.locator("tr[data-point]", has_text="来店予約").locator("[data-count=conversions]")).to_have_text("3")
    no_sideways_scroll(page, width, "the points")

    buy = make_point(app, "EC購入")
    for n, value in ((1, 5000), (2, 1200), (3, 300)):
        convert(app, buy, make_friend(app, n=10 + n), value=value, order_id=f"O-{n}")
    rfm_tick(get_engine(app))
    page.get_by_role("link", name="RFM分析").first.click()
    expect(page.get_by_role("heading", name="RFM分析")).to_be_visible()
    no_sideways_scroll(page, width, "the RFM page")
    page.locator("tr[data-decile='1'] a").click()
    expect(page.get_by_role("heading", name="デシル1")).to_be_visible()
    expect(page.locator("[data-total]")).to_have_attribute("data-total", "1")
    page.get_by_role("button", name="セグメントとして保存して配信に使う").click()
    expect(page.locator(".flash-success")).to_contain_text("セグメント「デシル1」を保存しました。")
    page.goto(f"{console_url}/segments/1/edit")  # the builder shows the saved cell's condition with its inputs
    page.wait_for_load_state()
    decile = page.locator(".segment-leaf[data-type=decile]")
    expect(decile).to_have_count(1)
    expect(decile.locator("select").last).to_have_value("1")
    no_sideways_scroll(page, width, "the segment builder")
