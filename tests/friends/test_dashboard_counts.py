"""The dashboard's figures stay exact when counted fast: follows and blocks per Asia/Tokyo day by range counts
(follows, blocks and follows again on either side of Tokyo midnight, on both databases, checked against grouping
each row by its Tokyo date), and the friends-following figure counted once a minute, as the page says."""

import random
from datetime import UTC, date, datetime, timedelta

import time_machine
from sqlalchemy import func
from sqlmodel import select

from crm.console.home import todays_figures
from crm.db import get_engine, session_scope
from crm.friends import service
from crm.friends.dashboard import friends_over_time
from crm.friends.models import Friend, FriendStatus
from crm.sql import tokyo_date, tokyo_day_counts
from tests.console_helpers import signed_in_client
from tests.factories import line_user_id, make_friend

NOW = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)  # 12:00 on 7 December in Tokyo
MIDNIGHT = datetime(2026, 12, 6, 15, 0, tzinfo=UTC)  # 7 Dec 00:00 in Tokyo
SECOND = timedelta(seconds=1)


def _events(app, events: list[tuple[str, int, datetime]]) -> None:
    with session_scope(get_engine(app)) as session:
        for action, n, at in events:
            getattr(service, action)(session, line_user_id=line_user_id(n), at=at)


def _nonzero(chart, series: int) -> dict[str, int]:
    return {day: count for day, count in zip(chart.rows, chart.series[series].values, strict=True) if count}


def test_follows_blocks_and_refollows_across_tokyo_midnight(app):
    _events(
        app,
        [
            ("follow", 1, MIDNIGHT - timedelta(days=1) - SECOND),  # 5 Dec 23:59:59
            ("follow", 2, MIDNIGHT - 60 * SECOND),  # 6 Dec 23:59, blocks at 7 Dec 00:01
            ("block", 2, MIDNIGHT + 60 * SECOND),
            ("follow", 3, MIDNIGHT - 30 * 60 * SECOND),  # 6 Dec 23:30, blocks at 23:45, back at 7 Dec 00:00
            ("block", 3, MIDNIGHT - 15 * 60 * SECOND),
            ("follow", 3, MIDNIGHT),
            ("follow", 4, MIDNIGHT),  # 7 Dec 00:00:00
        ],
    )
    with app.test_request_context(), session_scope(get_engine(app)) as session:
        card, figures = friends_over_time(session, NOW), todays_figures(session, NOW)
    # A friend who came back counts once, on the day of the latest add; a block counts while it lasts.
    assert _nonzero(card["chart"], 0) == {"12/5": 1, "12/6": 1, "12/7": 2}
    assert _nonzero(card["chart"], 1) == {"12/7": 1}
    assert (card["follows"], card["blocks"], card["net"]) == (4, 1, 3)
    assert (figures["following"], figures["follows_today"], figures["blocks_today"]) == (3, 2, 1)


def test_range_counts_match_grouping_by_tokyo_date(app):
    rng = random.Random(17)
    start = MIDNIGHT - timedelta(days=32)
    moments = [start + timedelta(seconds=rng.randrange(33 * 86400)) for _ in range(150)]
    moments += [MIDNIGHT - timedelta(days=day) + offset for day in range(3) for offset in (-SECOND, 0 * SECOND)]
    for n, moment in enumerate(moments):
        make_friend(app, n=n, last_followed_at=moment)
    days = [date(2026, 12, 7) - timedelta(days=offset) for offset in range(29, -1, -1)]
    with session_scope(get_engine(app)) as session:
        counts = tokyo_day_counts(session, Friend.last_followed_at, days)
        day = tokyo_date(session, Friend.last_followed_at)
        grouped = dict(session.exec(select(day, func.count()).group_by(day)).all())
    grouped = {date.fromisoformat(str(value)): count for value, count in grouped.items()}
    assert counts == [grouped.get(d, 0) for d in days]
    assert sum(counts) > 100


def _following(client) -> str:
    page = client.get("/").get_data(as_text=True)
    assert "1分ごとに更新" in page
    return page.split('data-figure="following">', 1)[1].split("<", 1)[0]


def test_the_following_figure_is_counted_once_a_minute(app, sim):
    make_friend(app, n=1)
    make_friend(app, n=2, status=FriendStatus.BLOCKED, blocked_at=NOW - timedelta(days=1))
    with time_machine.travel(NOW, tick=False) as clock:
        client = signed_in_client(app, "staff")
        assert _following(client) == "1"
        make_friend(app, n=3)
        clock.shift(59)
        assert _following(client) == "1"
        clock.shift(1)
        assert _following(client) == "2"
