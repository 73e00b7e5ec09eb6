"""The home page's chart in a real browser: drawn at desktop and phone width without sideways scrolling, its
bars named on hover, and the same figures as a table for anyone who would rather read."""

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from crm.timeutil import utcnow
from tests.factories import PASSWORD, make_friend, make_staff


@pytest.mark.parametrize("width", [1366, 390])
def test_the_friends_chart_reads_at_any_width(app, console_url, page, width):
    page.set_viewport_size({"width": width, "height": 900})
    for n in range(1, 4):
        make_friend(app, n=n, last_followed_at=utcnow() - timedelta(days=n))
    page.goto(f"{console_url}/login")
    page.fill("input[name=email]", make_staff(app, "staff"))
    page.fill("input[name=password]", PASSWORD)
    page.click("form button[type=submit]")
    chart = page.locator("#friends-chart")
    expect(chart.get_by_role("img", name="過去30日間の友だち")).to_be_visible()
    box = chart.locator("svg[role=img]").bounding_box()
    assert box["width"] > width * 0.6 and box["height"] >= 150
    drawn = "bars => bars.filter(bar => bar.getBBox().height > 0).length"
    assert chart.locator("svg[role=img] rect.bar.solid").evaluate_all(drawn) == 3
    chart.get_by_text("数値を表で見る").click()
    expect(chart.locator("table tbody tr")).to_have_count(30)
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 1
