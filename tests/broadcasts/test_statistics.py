"""Broadcast statistics against hand-computed figures (recipients, clicks, blocks and goals inserted directly)."""

import json
from datetime import timedelta

import pytest

from crm.broadcasts import stats as broadcast_stats
from crm.broadcasts.models import BroadcastStatus, RecipientState
from crm.friends.models import FriendStatus
from crm.tags.models import FriendTag, Tag
from crm.tracking.models import LinkClick, TrackedLink
from tests.broadcasts.helpers import T0, add_broadcast, add_friends, add_recipients, db


def _click(session, link_id, friend_id, broadcast_id, at):
    session.add(LinkClick(link_id=link_id, friend_id=friend_id, broadcast_id=broadcast_id, clicked_at=at))


def _scene(session, goal_kind="tag"):
    """20 friends: 10 sent, 4 held out, 2 capped, 3 failed (2 reasons), 1 queued; clicks, blocks, goals."""
    ids = add_friends(session, 20)
    tag = Tag(name="Bought")
    session.add(tag)
    session.flush()
    broadcast = add_broadcast(session, status=BroadcastStatus.SENDING, started_at=T0)
    link = TrackedLink(destination="https://shop.example/sale", source="broadcast", broadcast_id=broadcast.id)
    menu_link = TrackedLink(destination="https://shop.example/sale", source="richmenu")
    session.add_all([link, menu_link])
    session.flush()
    goal_id = tag.id if goal_kind == "tag" else link.id
    broadcast.goal = json.dumps({"kind": goal_kind, "id": goal_id, "days": 3})
    for index in range(10):
        add_recipients(session, broadcast.id, [ids[index]], RecipientState.SENT, sent_at=T0 + timedelta(minutes=index))
    add_recipients(session, broadcast.id, ids[10:14], RecipientState.HELD_OUT)
    add_recipients(session, broadcast.id, ids[14:16], RecipientState.CAPPED)
    add_recipients(session, broadcast.id, ids[16:18], RecipientState.FAILED, error="Invalid user")
    add_recipients(session, broadcast.id, ids[18:19], RecipientState.FAILED, error="Bad request")
    add_recipients(session, broadcast.id, ids[19:20], RecipientState.QUEUED)
    return broadcast, ids, tag, link, menu_link


def _block(session, friend_id, at, status=FriendStatus.BLOCKED):
    from crm.friends.models import Friend

    friend = session.get(Friend, friend_id)
    friend.status, friend.blocked_at = status, at
    session.add(friend)


def test_counts_failures_clicks_and_click_rate(app):
    with db(app) as session:
        broadcast, ids, _tag, link, _menu = _scene(session)
        for friend_id, times in ((ids[0], 3), (ids[1], 1), (ids[2], 1)):
            for _ in range(times):
                _click(session, link.id, friend_id, broadcast.id, T0 + timedelta(hours=1))
        _click(session, link.id, ids[3], broadcast.id + 1, T0)  # another broadcast's click
        session.flush()
        stats = broadcast_stats.statistics(session, broadcast.id, now=T0)
    assert (stats.recipients, stats.sent, stats.held_out, stats.capped, stats.failed, stats.queued) == (
        20,
        10,
        4,
        2,
        3,
        1,
    )
    assert stats.failures == [("Invalid user", 2), ("Bad request", 1)]
    assert (stats.clicks, stats.unique_clickers) == (5, 3)
    assert stats.click_rate == pytest.approx(30.0)
    assert not hasattr(stats, "open_rate")


def test_blocks_count_only_sent_friends_blocked_within_seven_days_of_their_send(app):
    with db(app) as session:
        broadcast, ids, *_ = _scene(session)
        _block(session, ids[3], T0 + timedelta(minutes=3, days=2))  # counted
        _block(session, ids[4], T0 + timedelta(minutes=4, days=8))  # too late
        _block(session, ids[5], T0 - timedelta(days=1))  # before the send
        _block(session, ids[6], T0 + timedelta(days=1), FriendStatus.FOLLOWING)  # followed again since
        _block(session, ids[7], T0 + timedelta(minutes=7, days=6, hours=23))  # counted, just inside
        _block(session, ids[16], T0 + timedelta(days=1))  # failed: never received it
        session.flush()
        stats = broadcast_stats.statistics(session, broadcast.id, now=T0)
    assert stats.blocks_7d == 2
    assert stats.block_rate == pytest.approx(20.0)


def test_tag_goal_compares_sent_group_with_control_group(app):
    with db(app) as session:
        broadcast, ids, tag, *_ = _scene(session)
        for friend_id, at in (
            (ids[0], T0 + timedelta(days=1)),
            (ids[1], T0 + timedelta(days=2)),
            (ids[2], T0 + timedelta(days=4)),
            (ids[7], T0 - timedelta(days=1)),
            (ids[10], T0 + timedelta(days=2)),
            (ids[14], T0 + timedelta(days=1)),
        ):
            session.add(FriendTag(friend_id=friend_id, tag_id=tag.id, added_at=at, added_by="test"))
        session.flush()
        goal = broadcast_stats.statistics(session, broadcast.id, now=T0).goal
    assert (goal.kind, goal.days) == ("tag", 3)
    assert (goal.sent_group, goal.sent_reached, goal.control_group, goal.control_reached) == (10, 2, 4, 1)
    assert goal.sent_rate == pytest.approx(20.0)
    assert goal.control_rate == pytest.approx(25.0)
    assert goal.lift == pytest.approx(-5.0)


def test_link_goal_counts_the_destination_clicked_through_any_tracked_link(app):
    with db(app) as session:
        broadcast, ids, _tag, link, menu_link = _scene(session, goal_kind="link")
        _click(session, link.id, ids[0], broadcast.id, T0 + timedelta(hours=2))
        _click(session, link.id, ids[0], broadcast.id, T0 + timedelta(hours=3))  # one friend, twice
        _click(session, link.id, ids[1], broadcast.id, T0 + timedelta(days=5))  # after the window
        _click(session, menu_link.id, ids[11], None, T0 + timedelta(days=1))  # control, via the rich menu
        _click(session, menu_link.id, ids[12], None, T0 - timedelta(days=1))  # before the send
        session.flush()
        goal = broadcast_stats.statistics(session, broadcast.id, now=T0).goal
    assert (goal.sent_reached, goal.control_reached) == (1, 1)
    assert goal.sent_rate == pytest.approx(10.0) and goal.control_rate == pytest.approx(25.0)


def test_a_broadcast_not_started_has_empty_statistics(app):
    with db(app) as session:
        broadcast = add_broadcast(session, status=BroadcastStatus.SCHEDULED, goal='{"days": 3, "id": 1, "kind": "tag"}')
        stats = broadcast_stats.statistics(session, broadcast.id, now=T0)
    assert (stats.recipients, stats.sent, stats.clicks, stats.blocks_7d) == (0, 0, 0, 0)
    assert stats.click_rate is None and stats.goal is None
