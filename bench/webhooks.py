"""Outbound webhooks: what emitting costs LINE's /callback, and how fast the worker delivers.

Posts signed follow webhooks through the real app (Flask test client, a fresh SQLite file or PostgreSQL URL)
with (a) no endpoint, (b) an endpoint that wants another event, (c) an endpoint that wants friend.followed,
and prints the mean time per webhook; then delivers the queued events to a local receiver and prints the
rate.

    python -m bench.webhooks --events 2000
    python -m bench.webhooks --events 2000 --database-url postgresql+psycopg://...
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from pathlib import Path

from crm import create_app, migrate
from crm.config import testing_config
from crm.db import get_engine, session_scope
from crm.outbound import outbox as webhook_outbox
from crm.outbound.jobs import deliver_webhooks
from tests.outbound.receiver import Receiver
from tests.signing import event, post_signed, webhook_body


def time_follows(client, count: int, prefix: int) -> float:
    """Post `count` follow webhooks of new users; return the mean milliseconds per webhook."""
    started = time.perf_counter()
    for n in range(count):
        user = f"U{prefix:04x}{n:028x}"
        response = post_signed(
            client,
            webhook_body(event("follow", user, follow={"isUnblocked": False}, event_id=f"B{prefix:04d}{n:020d}")),
        )
        assert response.status_code == 200
    return (time.perf_counter() - started) * 1000 / count


def endpoint(engine, url: str, events: list[str]) -> None:
    with session_scope(engine) as session:
        webhook_outbox.create_endpoint(session, url=url, events=events, description=None, staff_id=None)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--database-url")
    args = parser.parse_args(argv)
    logging.disable(logging.INFO)
    url = args.database_url or f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.sqlite3'}"
    migrate.upgrade(url)
    app = create_app(testing_config(url))
    engine, client, receiver = get_engine(app), app.test_client(), Receiver()
    try:
        time_follows(client, 100, 0)  # warm up
        print(f"no endpoint:                   {time_follows(client, args.events, 1):.2f} ms per follow webhook")
        endpoint(engine, receiver.url, ["tag.added"])
        print(f"endpoint for another event:    {time_follows(client, args.events, 2):.2f} ms per follow webhook")
        endpoint(engine, receiver.url, ["friend.followed"])
        print(f"endpoint for friend.followed:  {time_follows(client, args.events, 3):.2f} ms per follow webhook")
        started, sent = time.perf_counter(), 0
        while True:
            done = deliver_webhooks(engine, batch=200)
            if not done:
                break
            sent += done
        elapsed = time.perf_counter() - started
        print(
            f"delivered {sent} signed events to a local receiver in {elapsed:.1f} s "
            f"({sent / elapsed:.0f} per second, one worker, sequential)"
        )
    finally:
        receiver.stop()
        engine.dispose()


if __name__ == "__main__":
    main()
