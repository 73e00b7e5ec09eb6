"""How long a broadcast's statistics page query takes for a big send (SQLite or PostgreSQL).

Generates friends (bench.generate), then one sent broadcast over all of them: 10% held out, 2% capped, 1% failed
(3 reasons), the rest sent; clicks on its link by ~5% of friends; a goal tag added to ~3% of friends. Prints the
median and worst time of `crm.broadcasts.stats.statistics` over several runs.

    python -m bench.broadcast_stats --database-url sqlite:////tmp/bstats.sqlite3 --friends 200000
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterator, Sequence
from datetime import timedelta

from sqlalchemy import select

from bench import stats_runner
from bench.bulk import analyze, load_table
from crm.broadcasts import stats as broadcast_stats
from crm.broadcasts.models import Broadcast, BroadcastRecipient
from crm.db import session_scope
from crm.friends.models import Friend
from crm.tags.models import FriendTag, Tag
from crm.timeutil import utcnow
from crm.tracking.models import LinkClick, TrackedLink

REASONS = ("The user has blocked the account", "Invalid user ID", "Bad request")


def _setup(engine, started) -> tuple[int, int, int]:
    """A sent broadcast with a tracked link and a goal tag; return (broadcast, link, tag) ids."""
    with session_scope(engine) as session:
        tag = Tag(name=f"bench-goal-{time.time_ns()}")
        session.add(tag)
        session.flush()
        broadcast = Broadcast(
            name="bench",
            messages='[{"type": "text", "text": "hi"}]',
            status="sent",
            started_at=started,
            goal=json.dumps({"kind": "tag", "id": tag.id, "days": 7}),
        )
        session.add(broadcast)
        session.flush()
        link = TrackedLink(destination="https://shop.example.jp/sale", source="broadcast", broadcast_id=broadcast.id)
        session.add(link)
        session.flush()
        return broadcast.id, link.id, tag.id


def _recipients(friend_ids, broadcast_id, started, rng) -> Iterator[tuple]:
    for friend_id in friend_ids:
        roll = rng.random()
        if roll < 0.10:
            yield broadcast_id, friend_id, "held_out", None, None
        elif roll < 0.12:
            yield broadcast_id, friend_id, "capped", None, None
        elif roll < 0.13:
            yield broadcast_id, friend_id, "failed", None, rng.choice(REASONS)
        else:
            yield broadcast_id, friend_id, "sent", started + timedelta(seconds=rng.random() * 600), None


def _clicks(friend_ids, link_id, broadcast_id, started, rng) -> Iterator[tuple]:
    for friend_id in friend_ids:
        if rng.random() < 0.05:
            for _ in range(rng.randint(1, 3)):
                yield link_id, friend_id, broadcast_id, started + timedelta(hours=rng.random() * 48), "bench"


def _goal_tags(friend_ids, tag_id, started, rng) -> Iterator[tuple]:
    for friend_id in friend_ids:
        if rng.random() < 0.03:
            yield friend_id, tag_id, started + timedelta(days=rng.random() * 10), "bench"


def load(engine, started) -> int:
    """Write the broadcast's rows; return its id."""
    broadcast_id, link_id, tag_id = _setup(engine, started)
    with session_scope(engine) as session:
        friend_ids = list(session.execute(select(Friend.id).order_by(Friend.id)).scalars())
    rng = random.Random(1)
    print(
        load_table(
            engine,
            BroadcastRecipient.__table__,
            ("broadcast_id", "friend_id", "state", "sent_at", "error"),
            _recipients(friend_ids, broadcast_id, started, rng),
        ),
        flush=True,
    )
    print(
        load_table(
            engine,
            LinkClick.__table__,
            ("link_id", "friend_id", "broadcast_id", "clicked_at", "user_agent"),
            _clicks(friend_ids, link_id, broadcast_id, started, rng),
        ),
        flush=True,
    )
    print(
        load_table(
            engine,
            FriendTag.__table__,
            ("friend_id", "tag_id", "added_at", "added_by"),
            _goal_tags(friend_ids, tag_id, started, rng),
        ),
        flush=True,
    )
    for table in (BroadcastRecipient.__table__, LinkClick.__table__, FriendTag.__table__):
        analyze(engine, table)
    return broadcast_id


def measure(engine, broadcast_id: int, runs: int) -> list[float]:
    """Seconds per statistics() call."""
    times = []
    for _ in range(runs):
        with session_scope(engine) as session:
            started = time.perf_counter()
            result = broadcast_stats.statistics(session, broadcast_id, now=utcnow())
            times.append(time.perf_counter() - started)
    print(
        f"recipients={result.recipients:,} sent={result.sent:,} held_out={result.held_out:,} "
        f"failed={result.failed:,} clicks={result.clicks:,} unique={result.unique_clickers:,} "
        f"blocks_7d={result.blocks_7d:,} goal sent={result.goal.sent_rate:.2f}% "
        f"control={result.goal.control_rate:.2f}%",
        flush=True,
    )
    return times


def main(argv: Sequence[str] | None = None) -> int:
    return stats_runner.run(
        "python -m bench.broadcast_stats", __doc__.splitlines()[0], load, measure, runs=7, argv=argv
    )


if __name__ == "__main__":
    raise SystemExit(main())
