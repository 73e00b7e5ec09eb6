"""SQLite commits per second against clicks per commit: what group commit would buy the redirect.

One process stores clicks straight through the driver (the redirect's lookup and insert, as click_writer runs
them), committing every 1, 8, 32 … clicks, on a fresh WAL database with the CRM's pragmas.

    python -m bench.commit_rate [--clicks 6000] [--groups 1,8,32]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from bench.generate import generate_friends, generate_link_tokens
from crm import migrate
from crm.db import make_engine
from crm.timeutil import UTCDateTime, utcnow
from crm.tracking import clicks


def measure(url: str, tokens: list[str], *, count: int, group: int) -> dict:
    """Store `count` clicks, committing every `group`; wall rate, commit rate and CPU per click."""
    engine = make_engine(url)
    to_text = UTCDateTime().bind_processor(engine.dialect)
    find = str(clicks.target_statement().compile(dialect=engine.dialect))
    insert = clicks.INSERT_CLICK.compile(dialect=engine.dialect)
    connection = engine.raw_connection()
    cursor = connection.cursor()
    started, cpu = time.perf_counter(), time.process_time()
    for first in range(0, count, group):
        for index in range(first, min(first + group, count)):
            row = cursor.execute(find, (tokens[index % len(tokens)],)).fetchone()
            values = {"link_id": row[0], "friend_id": row[1], "broadcast_id": row[3], "now": to_text(utcnow())}
            cursor.execute(str(insert), tuple({**values, "user_agent": "bench"}[name] for name in insert.positiontup))
            cursor.fetchone()
        connection.commit()
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    connection.close()
    engine.dispose()
    return {
        "group": group,
        "clicks_per_s": count / seconds,
        "commits_per_s": -(-count // group) / seconds,
        "cpu_us": cpu * 1e6 / count,
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Print clicks/s, commits/s and CPU per click for each group size, with the load average."""
    parser = argparse.ArgumentParser(prog="python -m bench.commit_rate", description=__doc__.splitlines()[0])
    parser.add_argument("--clicks", type=int, default=6000)
    parser.add_argument("--groups", type=lambda text: [int(item) for item in text.split(",")], default=[1, 8, 32])
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="crm-bench-commit-") as folder:
        url = f"sqlite:///{Path(folder) / 'bench.sqlite3'}"
        migrate.upgrade(url)
        engine = make_engine(url)
        generate_friends(engine, 5000)
        _, tokens = generate_link_tokens(engine)
        engine.dispose()
        for group in args.groups:
            row = measure(url, tokens, count=args.clicks, group=group)
            print(
                f"{row['group']:4} clicks per commit: {row['clicks_per_s']:8.0f} clicks/s  "
                f"{row['commits_per_s']:7.0f} commits/s  {row['cpu_us']:5.0f} µs CPU per click  "
                f"load {os.getloadavg()[0]:.1f}",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
