"""The statistics page's timeline after the send (clicks and blocks per Tokyo hour for 48 hours, then per day)
and its clicks per URL, against hand-placed clicks and blocks."""

from datetime import timedelta

import time_machine

from crm.broadcasts import timeline as broadcast_timeline
from crm.broadcasts.models import Broadcast, BroadcastStatus, RecipientState
from crm.friends.models import Friend, FriendStatus
from crm.tracking.models import LinkClick, TrackedLink
from tests.broadcasts.helpers import T0, add_broadcast, add_friends, add_recipients, db
from tests.console_helpers import signed_in_client

STARTED = T0 + timedelta(minutes=25)  # 10:25 in Tokyo: the timeline starts at 10:00


def _block(session, friend_id, at, status=FriendStatus.BLOCKED):
    friend = session.get(Friend, friend_id)
    friend.status, friend.blocked_at = status, at
    session.add(friend)


def _scene(app) -> int:
    """6 friends sent to at 10:25; clicks on two URLs (one URL behind two links) and blocks at known hours."""
    with db(app) as session:
        ids = add_friends(session, 8)
        broadcast = add_broadcast(session, status=BroadcastStatus.SENT, started_at=STARTED)
        add_recipients(session, broadcast.id, ids[:6], RecipientState.SENT, sent_at=STARTED)
        add_recipients(session, broadcast.id, ids[6:7], RecipientState.HELD_OUT)
        sale = TrackedLink(destination="https://shop.example/sale", source="broadcast", broadcast_id=broadcast.id)
        tagged = TrackedLink(destination="https://shop.example/sale", source="broadcast:tag", broadcast_id=broadcast.id)
        news = TrackedLink(destination="https://shop.example/news", source="broadcast", broadcast_id=broadcast.id)
        unclicked = TrackedLink(destination="https://shop.example/quiet", broadcast_id=broadcast.id)
        other = TrackedLink(destination="https://shop.example/sale", source="richmenu")
        session.add_all([sale, tagged, news, unclicked, other])
        session.flush()
        clicks = [
            (sale, ids[0], timedelta(minutes=40)),  # 10:00 hour
            (sale, ids[0], timedelta(hours=1, minutes=5)),  # 11:00
            (tagged, ids[1], timedelta(hours=1, minutes=50)),  # 11:00
            (news, ids[2], timedelta(hours=50)),  # day 3, after 48 hours
            (sale, ids[3], timedelta(days=15)),  # after the 14 days: not drawn
        ]
        for link, friend_id, after in clicks:
            session.add(
                LinkClick(link_id=link.id, friend_id=friend_id, broadcast_id=broadcast.id, clicked_at=T0 + after)
            )
        session.add(LinkClick(link_id=other.id, friend_id=ids[4], clicked_at=T0 + timedelta(minutes=40)))
        _block(session, ids[4], T0 + timedelta(hours=2, minutes=30))  # 12:00 hour
        _block(session, ids[5], T0 + timedelta(days=3))  # a daily bar
        _block(session, ids[1], T0 + timedelta(hours=3), FriendStatus.FOLLOWING)  # followed again since
        _block(session, ids[6], T0 + timedelta(hours=3))  # held out: not sent to
        _block(session, ids[7], T0 + timedelta(hours=3))  # not in the broadcast
        return broadcast.id


def _timeline(app, broadcast_id, now):
    with app.test_request_context(), db(app) as session:
        return broadcast_timeline.timeline(session, session.get(Broadcast, broadcast_id), now)


def test_hourly_from_the_first_hour_then_daily_in_tokyo_time(app):
    broadcast_id = _scene(app)
    timeline = _timeline(app, broadcast_id, T0 + timedelta(days=4, hours=2))
    clicks, blocks = timeline.hourly.series
    assert len(timeline.hourly.rows) == 48
    assert timeline.hourly.rows[:3] == ["3/1 10:00", "3/1 11:00", "3/1 12:00"]
    assert (clicks.values[:3], blocks.values[:3]) == ([1, 2, 0], [0, 0, 1])
    assert sum(clicks.values) == 3 and sum(blocks.values) == 1
    daily_clicks, daily_blocks = timeline.daily.series
    # From the 49th hour (3/3 10:00) to now (3/5 12:00 in Tokyo): three Tokyo days.
    assert timeline.daily.rows == ["3/3", "3/4", "3/5"]
    assert daily_clicks.values == [1, 0, 0] and daily_blocks.values == [0, 1, 0]
    assert (timeline.clicks, timeline.blocks) == (4, 2)


def test_the_first_day_draws_only_the_hours_so_far_and_no_daily_chart(app):
    broadcast_id = _scene(app)
    timeline = _timeline(app, broadcast_id, T0 + timedelta(hours=1, minutes=30))
    assert timeline.hourly.rows == ["3/1 10:00", "3/1 11:00"]
    assert timeline.daily is None


def test_a_broadcast_not_yet_sent_has_no_timeline(app):
    with db(app) as session:
        broadcast_id = add_broadcast(session, status=BroadcastStatus.SCHEDULED).id
    assert _timeline(app, broadcast_id, T0) is None


def test_the_statistics_page_shows_the_timeline_and_clicks_per_url(app):
    broadcast_id = _scene(app)
    with time_machine.travel(T0 + timedelta(days=4), tick=False):
        page = signed_in_client(app, "analyst").get(f"/broadcasts/{broadcast_id}/stats").get_data(as_text=True)
    assert 'id="timeline-hourly"' in page and 'id="timeline-daily"' in page
    assert "<td>3/1 11:00</td>" in page
    table = page[page.index('id="link-figures"') :]
    rows = table.split("<tr data-url=")[1:]
    assert [row.split('"')[1] for row in rows] == [
        "https://shop.example/sale",  # 2 links, 4 clicks (the one after 14 days too), 3 friends
        "https://shop.example/news",
        "https://shop.example/quiet",
    ]
    sale = rows[0]
    assert 'data-figure="clicks">4<' in sale and 'data-figure="unique_clickers">3<' in sale
    assert 'data-figure="click_rate">50.0%<' in sale  # 3 of 6 sent
    assert 'data-figure="clicks">0<' in rows[2] and "0.0%" in rows[2]
