"""Benchmark data for the chat inbox: 1:1 messages and the inbox's conversation rows.

Messages are spread over the friends with a realistic skew: most friends never write (`CHATTY_SHARE` do), most
of those who do send a few messages, and a few send thousands (a Pareto weight, capped). Message ids follow their
times, as the webhook writes them; each friend who has messages gets a conversation row with its latest ids and a
read marker (most conversations read, recent ones often unread).
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.engine import Engine

from bench.bulk import LoadResult, analyze, friend_ids, index_dropped, load_table, utc
from crm.friends.models import Message, MessageDirection
from crm.inbox.models import Conversation
from crm.timeutil import utcnow

CHATTY_SHARE = 0.2  # friends with at least one message
PARETO_ALPHA = 1.16  # the long tail of talkative friends
HEAVIEST_FRIEND_MESSAGES = 5_000  # about the most any one friend gets
TALK_DAYS = 365
INCOMING_SHARE = 0.6
UNREAD_RECENT_SHARE = 0.5  # conversations whose last message is from the last day, left unread
UNREAD_OLDER_SHARE = 0.01
BATCH = 100_000
MESSAGE_INDEXES = (
    "ix_message_friend_created",
    "ix_message_friend_direction_id",
    "ix_message_line_message_id",
    "ix_message_created_direction",
)
MESSAGE_COLUMNS = (
    "id",
    "friend_id",
    "direction",
    "message_type",
    "text",
    "line_message_id",
    "sent_via",
    "unsent",
    "created_at",
)
CONVERSATION_COLUMNS = ("friend_id", "last_message_id", "last_incoming_id", "last_read_message_id", "read_at")
TEXTS = (
    "こんにちは",
    "予約できますか？",
    "ありがとうございました！",
    "明日の営業時間を教えてください",
    "クーポンはまだ使えますか",
    "了解です",
    "キャンセルをお願いします",
    "駐車場はありますか？",
    "また伺います😊",
    "在庫はありますか",
)
REPLIES = (
    "ご連絡ありがとうございます。",
    "ご予約承りました。",
    "はい、ご利用いただけます。",
    "またのご来店をお待ちしております。",
)
# (message type, share of incoming messages); the rest are text
INCOMING_KINDS = (("sticker", 0.08), ("image", 0.05), ("video", 0.005), ("audio", 0.003), ("file", 0.002))


@dataclass
class _Talk:
    """What the conversation rows need of one friend's messages."""

    last_id: int = 0
    last_at: float = 0.0
    incoming: deque = field(default_factory=lambda: deque(maxlen=4))  # the last few incoming ids
    touched: bool = False  # given messages by this run


def _held_talks(engine: Engine) -> dict[int, _Talk]:
    """The conversations earlier runs wrote (a repeat run continues them)."""
    table = Conversation.__table__
    talks = {}
    with engine.connect() as connection:
        for friend_id, last_id, last_in in connection.execute(
            select(table.c.friend_id, table.c.last_message_id, table.c.last_incoming_id)
        ):
            talks[friend_id] = talk = _Talk(last_id=last_id or 0)
            if last_in:
                talk.incoming.append(last_in)
    return talks


def generate_messages(
    engine: Engine, count: int, *, seed: int = 1, now: datetime | None = None
) -> tuple[LoadResult, LoadResult]:
    """Add `count` messages over the existing friends (ids after the newest message) and the conversation rows
    of the friends who got some; return both loads."""
    with engine.connect() as connection:
        first_id = (connection.execute(select(func.max(Message.id))).scalar() or 0) + 1
    rng = random.Random(f"messages:{seed}:{first_id}")
    friends, cumulative = talkative_friends(engine, count=count, seed=seed, rng=rng)
    talks = _held_talks(engine)
    now_ts = (now or utcnow()).timestamp()
    rows = message_rows(count, friends, cumulative, first_id=first_id, rng=rng, now=now_ts, talks=talks)
    table = Message.__table__
    with index_dropped(engine, table, *MESSAGE_INDEXES):
        messages = load_table(engine, table, MESSAGE_COLUMNS, rows)
    analyze(engine, table)
    talks = {friend_id: talk for friend_id, talk in talks.items() if talk.touched}
    _drop_conversations(engine, sorted(talks))  # a repeat run: these friends' rows are written anew
    conversations = load_table(
        engine, Conversation.__table__, CONVERSATION_COLUMNS, conversation_rows(talks, rng=rng, now=now_ts)
    )
    analyze(engine, Conversation.__table__)
    return messages, conversations


def _drop_conversations(engine: Engine, ids: list[int]) -> None:
    table = Conversation.__table__
    with engine.begin() as connection:
        for start in range(0, len(ids), 10_000):
            connection.execute(delete(table).where(table.c.friend_id.in_(ids[start : start + 10_000])))


def talkative_friends(engine: Engine, *, count: int, seed: int, rng: random.Random) -> tuple[list[int], list[float]]:
    """The friends who write (the same ones on every run of a seed), and their cumulative weights (Pareto,
    capped so no friend gets many more than HEAVIEST_FRIEND_MESSAGES of the `count`)."""
    friends = list(friend_ids(engine, share=CHATTY_SHARE, seed=f"chatty:{seed}"))
    weights = [rng.paretovariate(PARETO_ALPHA) for _ in friends]
    cap = sum(weights) * HEAVIEST_FRIEND_MESSAGES / max(count, 1)
    cumulative, total = [], 0.0
    for weight in weights:
        total += min(weight, cap)
        cumulative.append(total)
    return friends, cumulative


def message_rows(
    count: int,
    friends: list[int],
    cumulative: list[float],
    *,
    first_id: int,
    rng: random.Random,
    now: float,
    talks: dict[int, _Talk],
) -> Iterator[tuple]:
    """Yield message rows in id (and time) order over the last TALK_DAYS, noting each friend's latest ids."""
    span = timedelta(days=TALK_DAYS).total_seconds()
    step = span / max(count, 1)
    start = now - span
    for offset in range(0, count, BATCH):
        chosen = rng.choices(friends, cum_weights=cumulative, k=min(BATCH, count - offset))
        for index, friend_id in enumerate(chosen):
            number = offset + index
            message_id, at = first_id + number, start + (number + rng.random()) * step
            talk = talks.get(friend_id) or talks.setdefault(friend_id, _Talk())
            talk.last_id, talk.last_at, talk.touched = message_id, at, True
            if rng.random() < INCOMING_SHARE:
                talk.incoming.append(message_id)
                kind = _incoming_kind(rng)
                text = rng.choice(TEXTS) if kind == "text" else None
                line_id = str(10**17 + message_id)
                yield message_id, friend_id, MessageDirection.INCOMING, kind, text, line_id, None, False, utc(at)
            else:
                yield message_id, friend_id, "out", "text", rng.choice(REPLIES), None, "console", False, utc(at)


def _incoming_kind(rng: random.Random) -> str:
    draw = rng.random()
    for kind, share in INCOMING_KINDS:
        if draw < share:
            return kind
        draw -= share
    return "text"


def conversation_rows(talks: dict[int, _Talk], *, rng: random.Random, now: float) -> Iterator[tuple]:
    """One conversation per friend with messages: read up to the newest incoming message, or left with 1–3
    unread (recent conversations far more often)."""
    for friend_id in sorted(talks):
        talk = talks[friend_id]
        incoming = list(talk.incoming)
        last_in = incoming[-1] if incoming else 0
        share = UNREAD_RECENT_SHARE if now - talk.last_at < 86400 else UNREAD_OLDER_SHARE
        if incoming and rng.random() < share:
            unread = rng.randint(1, min(3, len(incoming)))
            read_up_to = incoming[-unread - 1] if unread < len(incoming) else 0
            yield friend_id, talk.last_id, last_in, read_up_to, utc(now - 86400) if read_up_to else None
        else:
            yield friend_id, talk.last_id, last_in, last_in, utc(talk.last_at) if last_in else None
