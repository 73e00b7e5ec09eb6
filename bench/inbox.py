"""Chat inbox latency: the real /chat pages (Flask test client, signed in) on a generated SQLite database.

Friends with conversations (a few messages each, some unread) and one friend with thousands of talk items
(messages, broadcasts, clicks, follows); times the conversation list, a filtered list, the open conversation
and the polling endpoint, printing p50/p95.

    python -m bench.inbox --friends 20000 --messages 200000 --heavy 5000
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import insert

from bench.console import signed_in
from crm import create_app, migrate
from crm.broadcasts.models import Broadcast, BroadcastRecipient
from crm.config import testing_config
from crm.db import get_engine
from crm.friends.models import Friend, Message
from crm.timeutil import utcnow
from crm.tracking.models import LinkClick, TrackedLink
from crm.webhook.models import WebhookEvent

REPEAT = 20


def _load(engine, *, friends: int, messages: int, heavy: int) -> int:
    """Generate the data; return the heavy friend's id."""
    rng = random.Random(17)
    start = utcnow() - timedelta(days=90)
    with engine.begin() as connection:
        connection.execute(
            insert(Friend),
            [{"line_user_id": f"U{n:032x}", "display_name": f"友だち{n}", "status": "following",
              "follow_count": 1, "profile_fetch_attempts": 0, "created_at": start} for n in range(1, friends + 1)],
        )  # fmt: skip
        rows = []
        for n in range(messages):
            rows.append({"friend_id": rng.randint(1, friends), "direction": "in" if rng.random() < 0.7 else "out",
                         "message_type": "text", "text": f"メッセージ {n}", "unsent": False,
                         "created_at": start + timedelta(seconds=n * 30)})  # fmt: skip
        connection.execute(insert(Message), rows)
        heavy_id = 1
        connection.execute(
            insert(Message),
            [{"friend_id": heavy_id, "direction": "in" if n % 2 else "out", "message_type": "text",
              "text": f"長い会話 {n}", "unsent": False, "created_at": start + timedelta(minutes=n)}
             for n in range(heavy)],
        )  # fmt: skip
        content = json.dumps([{"type": "text", "text": "お知らせ"}])
        connection.execute(
            insert(Broadcast),
            [{"name": f"配信{n}", "messages": content, "status": "sent", "created_at": start, "updated_at": start}
             for n in range(heavy // 5)],
        )  # fmt: skip
        connection.execute(
            insert(BroadcastRecipient),
            [{"broadcast_id": n + 1, "friend_id": heavy_id, "state": "sent",
              "sent_at": start + timedelta(minutes=5 * n, seconds=7)} for n in range(heavy // 5)],
        )  # fmt: skip
        connection.execute(insert(TrackedLink), [{"destination": "https://example.com/", "created_at": start}])
        connection.execute(
            insert(LinkClick),
            [{"link_id": 1, "friend_id": heavy_id, "clicked_at": start + timedelta(minutes=3 * n, seconds=11)}
             for n in range(heavy // 5)],
        )  # fmt: skip
        connection.execute(
            insert(WebhookEvent),
            [{"webhook_event_id": f"ev{n}", "event_type": "follow" if n % 2 else "unfollow", "friend_id": heavy_id,
              "occurred_at": start + timedelta(minutes=10 * n, seconds=13), "received_at": start, "payload": "{}",
              "payload_kept": True, "is_redelivery": False} for n in range(heavy // 10)],
        )  # fmt: skip
    return heavy_id


def _time(client, url: str) -> list[float]:
    timings = []
    for _ in range(REPEAT):
        started = time.perf_counter()
        response = client.get(url)
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--friends", type=int, default=20_000)
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--heavy", type=int, default=5_000, help="talk items of the one long conversation")
    args = parser.parse_args()
    path = Path(tempfile.mkdtemp()) / "inbox.sqlite3"
    url = f"sqlite:///{path}"
    migrate.upgrade(url)
    app = create_app(testing_config(url, LINE_API_BASE="http://127.0.0.1:9"))
    engine = get_engine(app)
    heavy = _load(engine, friends=args.friends, messages=args.messages, heavy=args.heavy)
    client = signed_in(app)
    newest = client.get(f"/chat/{heavy}").get_data(as_text=True).split('data-after="')[1].split('"')[0]
    print(
        f"{args.friends} friends, {args.messages + args.heavy} messages; one friend with ~{args.heavy * 8 // 5} items"
    )
    for label, target in (
        ("conversation list", "/chat"),
        ("list, unread only", "/chat?unread=1"),
        ("list, name search", "/chat?q=友だち123"),
        ("open conversation (heavy friend)", f"/chat/{heavy}"),
        ("poll, nothing new", f"/chat/{heavy}/items?after={newest.replace('+', '%2B')}"),
    ):
        timings = sorted(_time(client, target))
        p95 = timings[int(len(timings) * 0.95) - 1]
        print(f"{label:36s} p50 {statistics.median(timings):7.1f} ms   p95 {p95:7.1f} ms")


if __name__ == "__main__":
    main()
