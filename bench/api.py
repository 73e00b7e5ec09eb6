"""REST API latency at scale (SQLite): token check, friend list pages with the console's filters, keyset paging.

Generates friends with ~10 tags each into a SQLite file (reused when it already has friends), then times each
kind of request through the real app (Flask test client, bearer token) and prints p50/p95 in ms.

    python -m bench.api --friends 100000 --sqlite-file /tmp/crm-api-bench.sqlite3
"""

from __future__ import annotations

import argparse
import logging
import statistics
import time
from collections.abc import Sequence

from sqlalchemy import select

from bench.console import generate
from crm import create_app
from crm.config import testing_config
from crm.db import get_engine, session_scope
from crm.staff import api_tokens
from crm.staff.audit import Actor
from crm.tags.models import Tag


def _time(client, path: str, headers: dict, repeat: int) -> tuple[list[float], dict]:
    """Milliseconds of `repeat` GETs, and the last JSON body."""
    times, body = [], {}
    for _ in range(repeat):
        start = time.perf_counter()
        response = client.get(path, headers=headers)
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (path, response.get_data(as_text=True)[:300])
        body = response.get_json()
    return times, body


def _kinds(app) -> list[tuple[str, str]]:
    with session_scope(get_engine(app)) as session:
        tags = session.exec(select(Tag.id, Tag.friend_count).order_by(Tag.friend_count.desc())).all()
    common, rare = tags[0], tags[-1]
    return [
        ("tags list (token check + 50 tags)", "/api/v1/tags"),
        ("friends: first page, 50", "/api/v1/friends"),
        ("friends: first page, 200", "/api/v1/friends?limit=200"),
        ("friends: search 佐藤", "/api/v1/friends?q=%E4%BD%90%E8%97%A4"),
        (f"friends: common tag ({common[1]:,})", f"/api/v1/friends?tag_all={common[0]}"),
        (f"friends: rare tag ({rare[1]:,})", f"/api/v1/friends?tag_all={rare[0]}"),
        ("friends: blocked, interaction oldest", "/api/v1/friends?status=blocked&sort=interaction_asc"),
    ]


def _deep_pages(client, headers: dict, pages: int) -> list[float]:
    """Follow next_cursor through `pages` pages of 200."""
    times, path = [], "/api/v1/friends?limit=200"
    for _ in range(pages):
        elapsed, body = _time(client, path, headers, 1)
        times += elapsed
        if not body["next_cursor"]:
            break
        path = f"/api/v1/friends?limit=200&cursor={body['next_cursor']}"
    return times


def _row(label: str, times: list[float]) -> str:
    p95 = statistics.quantiles(times, n=20)[-1] if len(times) >= 2 else times[0]
    return f"{label:<45} p50 {statistics.median(times):7.1f} ms   p95 {p95:7.1f} ms   (n={len(times)})"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--friends", type=int, default=100_000)
    parser.add_argument("--sqlite-file", default="/tmp/crm-api-bench.sqlite3")
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args(argv)
    logging.disable(logging.INFO)
    url = f"sqlite:///{args.sqlite_file}"
    generate(url, args.friends, 10)
    app = create_app(testing_config(url))
    with session_scope(get_engine(app)) as session:
        _token, secret = api_tokens.create_token(session, name="bench", role="admin", actor=Actor.system("bench"))
    client, headers = app.test_client(), {"Authorization": f"Bearer {secret}"}
    for label, path in _kinds(app):
        _time(client, path, headers, 1)  # warm the caches
        print(_row(label, _time(client, path, headers, args.repeat)[0]), flush=True)
    print(_row("friends: 50 consecutive pages of 200 (cursor)", _deep_pages(client, headers, 50)), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
