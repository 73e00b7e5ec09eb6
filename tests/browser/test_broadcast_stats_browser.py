"""A broadcast's statistics in a real browser: the timeline after the send (hourly, then daily) and the clicks
per URL read at desktop and phone width without sideways scrolling, with the figures as tables."""

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from crm.broadcasts.models import BroadcastStatus, RecipientState
from crm.friends.models import Friend, FriendStatus
from crm.timeutil import utcnow
from crm.tracking.models import LinkClick, TrackedLink
from tests.broadcasts.helpers import add_friends, add_recipients, db
from tests.browser.pages import sign_in
from tests.factories import make_broadcast, make_staff

LONG_URL = (
    "https://shop.example/campaigns/winter-sale-2026/very-long-landing-page-name?utm_source=line&utm_medium=broadcast"
)


def _sent_three_days_ago(app) -> int:
    started = utcnow() - timedelta(days=3)
    broadcast_id = make_broadcast(
        app,
        [{"type": "text", "text": "冬のセール"}],
        name="冬のセール",
        status=BroadcastStatus.SENT,
        started_at=started,
    )
    with db(app) as session:
        ids = add_friends(session, 4)
        add_recipients(session, broadcast_id, ids, RecipientState.SENT, sent_at=started)
        link = TrackedLink(destination=LONG_URL, source="broadcast", broadcast_id=broadcast_id)
        session.add(link)
        session.flush()
        for friend_id, after in (
            (ids[0], timedelta(hours=1)),
            (ids[1], timedelta(hours=2)),
            (ids[0], timedelta(days=2, hours=12)),
        ):
            session.add(
                LinkClick(link_id=link.id, friend_id=friend_id, broadcast_id=broadcast_id, clicked_at=started + after)
            )
        friend = session.get(Friend, ids[3])
        friend.status, friend.blocked_at = FriendStatus.BLOCKED, started + timedelta(hours=5)
    return broadcast_id


@pytest.mark.parametrize("width", [1366, 390])
def test_the_timeline_and_the_clicks_per_url_read_at_any_width(app, console_url, page, width):
    page.set_viewport_size({"width": width, "height": 900})
    broadcast_id = _sent_three_days_ago(app)
    sign_in(page, console_url, make_staff(app, "analyst"))
    page.goto(f"{console_url}/broadcasts/{broadcast_id}/stats")
    hourly = page.locator("#timeline-hourly")
    expect(hourly.get_by_role("img", name="1時間ごとのクリックとブロック（配信後48時間）")).to_be_visible()
    box = hourly.locator("svg[role=img]").bounding_box()
    assert box["width"] > width * 0.6
    drawn = "bars => bars.filter(bar => bar.getBBox().height > 0).length"
    assert hourly.locator("svg[role=img] rect.bar.solid").evaluate_all(drawn) == 2  # two clicks in two hours
    assert hourly.locator("svg[role=img] rect.bar.striped").evaluate_all(drawn) == 1  # one block
    hourly.get_by_text("数値を表で見る").click()
    expect(hourly.locator("table tbody tr")).to_have_count(48)
    daily = page.locator("#timeline-daily")
    expect(daily.get_by_role("img")).to_be_visible()
    assert daily.locator("svg[role=img] rect.bar.solid").evaluate_all(drawn) == 1
    row = page.locator(f'#link-figures tr[data-url="{LONG_URL}"]')
    expect(row.locator('[data-figure="clicks"]')).to_have_text("3")
    expect(row.locator('[data-figure="click_rate"]')).to_have_text("50.0%")
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 1
    wrap = page.locator("#link-figures .table-wrap")
    assert wrap.evaluate("element => element.scrollWidth - element.clientWidth") <= 1, "the long URL wraps"
