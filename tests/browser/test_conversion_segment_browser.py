"""Building a segment on conversions in a real browser, at desktop and phone width: "converted on 購入 within
30 days" and "total value 5,000 yen or more" picked from the builder's own inputs, the live count following each
edit, and the segment saved as built."""

import json

import pytest
from playwright.sync_api import expect
from sqlmodel import Session, select

from crm.db import get_engine
from crm.segments.models import Segment
from tests.browser.pages import sign_in
from tests.conversions.helpers import recent_buyers
from tests.factories import make_staff


@pytest.mark.parametrize("width", [1366, 390])
def test_build_recent_buyers_of_5000_yen_or_more(app, console_url, page, width):
    page.set_viewport_size({"width": width, "height": 900})
    shop = recent_buyers(app)  # within 30 days: aki, ben, dan; 5,000 yen or more in all: aki, dan
    sign_in(page, console_url, make_staff(app, "marketer"))
    page.goto(f"{console_url}/segments/new")
    page.fill("input[name=name]", "最近 5,000 円以上買った人")
    count = page.locator("#segment-count")
    expect(count).to_have_attribute("data-count", "4")  # no condition yet
    page.wait_for_load_state()

    leaves = page.locator(".segment-leaf")
    page.locator(".segment-add-condition").first.click()
    leaves.nth(0).locator("select.segment-type").select_option("converted")
    converted = page.locator(".segment-leaf[data-type=converted]")
    expect(converted.locator("select.segment-type option:checked")).to_have_text("コンバージョンあり")
    converted.locator("select").nth(1).select_option(label="購入")
    expect(converted.locator("input[data-key=days]")).to_have_value("30")
    expect(converted).to_contain_text("日以内（0 なら期間を問わない）")
    expect(count).to_have_attribute("data-count", "3")  # aki, ben, dan

    page.locator(".segment-add-condition").first.click()
    leaves.nth(1).locator("select.segment-type").select_option("conversion_value")
    value = page.locator(".segment-leaf[data-type=conversion_value]")
    expect(value).to_contain_text("円以上")
    value.locator("input[data-key=min]").fill("5000")
    expect(count).to_have_attribute("data-count", "2")  # aki (7,000 yen), dan (6,000 yen)
    assert page.evaluate("document.documentElement.scrollWidth") <= width

    page.click("#segment-form button[type=submit]")
    expect(page.locator("tr[data-segment] td.count")).to_have_text("2")
    with Session(get_engine(app)) as session:
        saved = session.exec(select(Segment)).one()
    assert json.loads(saved.tree) == {
        "type": "all",
        "conditions": [
            {"type": "converted", "point_id": shop["buy"], "days": 30},
            {"type": "conversion_value", "min": 5000},
        ],
    }
