"""The benchmark data generator writes valid, distinct friends fast (SQLite or PostgreSQL)."""

import re
from datetime import UTC

import pytest
from sqlmodel import Session, func, select

from bench.generate import generate_friends
from crm.db import make_engine
from crm.friends.models import Friend, FriendStatus
from crm.timeutil import utcnow

LINE_USER_ID = re.compile(r"^U[0-9a-f]{32}$")
TIME_COLUMNS = (
    "first_followed_at",
    "last_followed_at",
    "blocked_at",
    "last_interaction_at",
    "profile_fetched_at",
    "profile_fetch_due_at",
    "created_at",
)


@pytest.fixture
def engine(database_url):
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def load_friends(engine):
    with Session(engine) as session:
        return session.exec(select(Friend)).all()


def test_generates_the_requested_number_of_distinct_friends(engine):
    result = generate_friends(engine, 2_000, seed=7)
    friends = load_friends(engine)
    assert result.rows == len(friends) == 2_000
    assert len({friend.line_user_id for friend in friends}) == 2_000
    assert all(LINE_USER_ID.match(friend.line_user_id) for friend in friends)


def test_statuses_are_mostly_following_and_some_blocked(engine):
    generate_friends(engine, 2_000, seed=7)
    friends = load_friends(engine)
    blocked = [friend for friend in friends if friend.status == FriendStatus.BLOCKED]
    assert {friend.status for friend in friends} == {FriendStatus.FOLLOWING, FriendStatus.BLOCKED}
    assert 0.05 < len(blocked) / len(friends) < 0.15
    assert all(friend.blocked_at is not None for friend in blocked)


def test_times_read_back_aware_utc_and_in_order(engine):
    now = utcnow()
    generate_friends(engine, 2_000, seed=7, now=now)
    for friend in load_friends(engine):
        for name in TIME_COLUMNS:
            value = getattr(friend, name)
            assert value is None or value.tzinfo == UTC, name
        assert friend.first_followed_at <= friend.last_followed_at <= friend.last_interaction_at <= now
        assert friend.follow_count >= 1


def test_values_fit_the_model(engine):
    generate_friends(engine, 2_000, seed=7)
    for friend in load_friends(engine):
        Friend.model_validate(friend.model_dump())
        assert friend.display_name is None or 0 < len(friend.display_name) <= 200
        assert friend.language in (None, "ja", "en", "zh-TW", "th", "ko")


def test_a_second_run_appends_new_friends(engine):
    generate_friends(engine, 500, seed=7)
    generate_friends(engine, 500, seed=7)
    with Session(engine) as session:
        assert session.exec(select(func.count(func.distinct(Friend.line_user_id)))).one() == 1_000


def test_purchases_spread_over_the_friends_and_score_in_sql(engine):
    from bench.generate_extras import generate_purchases
    from crm.conversions import rfm
    from crm.conversions.models import Conversion, RfmScore

    generate_friends(engine, 500, seed=3)
    assert generate_purchases(engine, 3_000, seed=3).rows == 3_000
    generate_purchases(engine, 1_000, seed=3)  # a second run continues the order ids
    with Session(engine) as session:
        assert session.exec(select(func.count(func.distinct(Conversion.order_id)))).one() == 4_000
        assert rfm.recompute(session, now=utcnow()) > 100
        assert session.exec(select(func.min(RfmScore.decile), func.max(RfmScore.decile))).one() == (1, 10)


def test_messages_are_skewed_over_the_friends_with_conversations_the_inbox_would_keep(engine):
    from collections import Counter

    from bench.generate_talk import generate_messages
    from crm.friends.models import Message
    from crm.inbox.conversations import InboxFilter, list_conversations
    from crm.inbox.models import Conversation
    from crm.inbox.sync import repair

    generate_friends(engine, 2_000, seed=5)
    messages, conversations = generate_messages(engine, 20_000, seed=5)
    generate_messages(engine, 5_000, seed=5)  # a second run continues the ids and rewrites those conversations
    with Session(engine) as session:
        rows = session.exec(select(Message.id, Message.friend_id, Message.created_at).order_by(Message.id)).all()
        assert messages.rows == 20_000 and len(rows) == 25_000
        assert [row.created_at for row in rows[:20_000]] == sorted(row.created_at for row in rows[:20_000])
        per_friend = sorted(Counter(row.friend_id for row in rows).values())
        assert 0.1 < len(per_friend) / 2_000 < 0.3  # most friends never wrote
        median, mean = per_friend[len(per_friend) // 2], len(rows) / len(per_friend)
        assert median * 2 < mean and per_friend[-1] > 10 * median  # most a few, some many
        held = {c.friend_id: (c.last_message_id, c.last_incoming_id) for c in session.exec(select(Conversation))}
        assert conversations.rows > 0 and len(held) == len(per_friend)
        repair(session, list(held))  # what the inbox computes from the messages themselves
        assert {
            c.friend_id: (c.last_message_id, c.last_incoming_id) for c in session.exec(select(Conversation))
        } == held
        unread = list_conversations(session, flt=InboxFilter(unread=True), staff_id=1, limit=10_000)
        assert 0 < len(unread) < len(held) / 2
        assert all(1 <= row.unread <= 3 for row in unread)
        kinds = set(session.exec(select(Message.message_type)).all())
        assert {"text", "sticker", "image", "video", "file"} <= kinds
