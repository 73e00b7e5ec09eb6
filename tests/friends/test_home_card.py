"""The friends' card on the home page: follows and blocks per Asia/Tokyo day over 30 days (on both databases),
the totals and net change, the figures as a table beside the chart, and the month's quota."""

from datetime import UTC, datetime

import time_machine

from crm.db import get_engine, session_scope
from crm.friends.dashboard import friends_over_time
from crm.friends.models import FriendStatus
from tests.console_helpers import signed_in_client
from tests.factories import make_friend

NOW = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)  # 12:00 on 7 December in Tokyo


def _friends(app):
    # 23:59 and 00:00 in Tokyo fall on different days, whatever the UTC date says.
    make_friend(app, n=1, last_followed_at=datetime(2026, 12, 5, 14, 59, tzinfo=UTC))  # 5 Dec 23:59 JST
    make_friend(app, n=2, last_followed_at=datetime(2026, 12, 5, 15, 0, tzinfo=UTC))  # 6 Dec 00:00 JST
    make_friend(app, n=3, last_followed_at=datetime(2026, 12, 6, 16, 0, tzinfo=UTC))  # 7 Dec 01:00 JST
    make_friend(app, n=4, last_followed_at=datetime(2026, 10, 1, tzinfo=UTC))  # before the 30 days
    blocked_at = datetime(2026, 12, 6, 15, 30, tzinfo=UTC)  # 7 Dec 00:30 JST
    make_friend(
        app, n=5, status=FriendStatus.BLOCKED, blocked_at=blocked_at, last_followed_at=datetime(2026, 9, 1, tzinfo=UTC)
    )
    # Blocked once, then came back: not a block any more.
    make_friend(app, n=6, blocked_at=blocked_at, last_followed_at=datetime(2026, 12, 6, 20, 0, tzinfo=UTC))


def test_follows_and_blocks_fall_on_their_tokyo_day(app):
    _friends(app)
    with session_scope(get_engine(app)) as session:
        card = friends_over_time(session, NOW)
    chart = card["chart"]
    assert chart.rows[0] == "11/8" and chart.rows[-1] == "12/7" and len(chart.rows) == 30
    follows, blocks = (dict(zip(chart.rows, series.values, strict=True)) for series in chart.series)
    assert {day: count for day, count in follows.items() if count} == {"12/5": 1, "12/6": 1, "12/7": 2}
    assert {day: count for day, count in blocks.items() if count} == {"12/7": 1}
    assert (card["follows"], card["blocks"], card["net"]) == (4, 1, 3)


def test_the_home_page_shows_the_card_with_its_figures_as_a_table(app, sim):
    _friends(app)
    sim.set_quota(1000, total_usage=250)
    with time_machine.travel(NOW, tick=False):
        page = signed_in_client(app, "staff").get("/").get_data(as_text=True)
    card = page[page.index('id="home-friends"') :]
    assert "友だち追加：4人" in card and "ブロック：1人" in card and "差し引き：+3人" in card
    assert 'role="img" aria-label="過去30日間の友だち"' in card
    assert "<title>12/7 友だち追加: 2</title>" in card
    assert "数値を表で見る" in card and "<td>12/7</td>" in card
    assert 'data-quota="ok"' in card
