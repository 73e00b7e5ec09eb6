"""Where a webhook request's time goes: the CRM's /callback under cProfile, in process.

Posts signed follow webhooks through Flask's test client (no network, no gunicorn), then prints
self time by component, cumulative time of the steps of the request, and the SQL of one event. Inline handling
(the default here) profiles storing and handling each event; `--handling queued` the answer alone (the consumer
is left asleep: the events stay waiting).

    python -m bench.profile_webhook --database sqlite --events 2000
"""

from __future__ import annotations

import argparse
import cProfile
import logging
import os
import pstats
import re
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import event

from bench.loadgen import follow_webhooks
from bench.servers import fresh_database, process_tree_cpu
from crm import create_app, migrate
from crm.config import SIMULATOR_DEFAULTS, WEBHOOK_HANDLINGS, Config
from crm.db import get_engine
from crm.webhook.consumer import CONSUMER_KEY, EventConsumer

SECRET = SIMULATOR_DEFAULTS["LINE_CHANNEL_SECRET"]
# (label, path fragment, function name): steps of the request whose cumulative time is shown.
STEPS = (
    ("whole request (test client)", "werkzeug/test.py", "open"),
    ("Flask dispatch", "flask/app.py", "full_dispatch_request"),
    ("signature check", "linebot/v3/webhook.py", "validate"),
    ("nesting check of the body", "crm/webhook/views.py", "nested_too_deeply"),
    ("json.loads of the body", "json/__init__.py", "loads"),
    ("process_event", "crm/webhook/events.py", "process_event"),
    ("  record_event (INSERT webhook_event)", "crm/webhook/event_store.py", "record_event"),
    ("  friends.follow (UPSERT friend)", "crm/friends/service.py", "follow"),
    ("  link_friend (UPDATE webhook_event)", "crm/webhook/event_store.py", "link_friend"),
    ("  failures.resolve (UPDATE failed_webhook_event)", "crm/webhook/failures.py", "resolve"),
    ("  Session.commit", "sqlalchemy/orm/session.py", "commit"),
    ("  Session.close", "sqlalchemy/orm/session.py", "close"),
    ("logging (Logger._log)", "logging/__init__.py", "_log"),
    ("jsonify of the answer", "flask/json/__init__.py", "jsonify"),
)
BUILTIN_GROUPS = (
    ("sqlite3.Connection' objects>", "commit", "SQLite commit (C)"),
    ("sqlite3", "", "SQLite driver (C)"),
    ("psycopg", "", "psycopg (C)"),
    ("_io.", "write", "log writes (I/O)"),
    ("_hashlib", "", "signature (C)"),
    ("hmac", "", "signature (C)"),
    ("json", "", "JSON (C)"),
)


class AsleepConsumer(EventConsumer):
    """Woken by every answer, it does nothing: the events stay waiting (the answer is profiled alone)."""

    def wake(self) -> None:
        pass


def build_app(database_url: str, log_path: Path, handling: str = "inline"):
    """The CRM as gunicorn would build it in development mode, logging to a file."""
    migrate.upgrade(database_url)
    config = Config.from_environ(
        {
            "CRM_ENV": "development",
            "DATABASE_URL": database_url,
            "LINE_CHANNEL_SECRET": SECRET,
            "WEBHOOK_HANDLING": handling,
        }
    )
    app = create_app(config)
    if handling == "queued":
        app.extensions[CONSUMER_KEY] = (os.getpid(), AsleepConsumer(app))
    stream = open(log_path, "a")  # noqa: SIM115 (kept open for the app's lifetime)
    for handler in logging.getLogger("crm").handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(stream)
    return app


def post_all(client, requests) -> None:
    """POST each signed webhook; fail loudly on anything but 200."""
    for request in requests:
        response = client.post("/callback", data=request.body, headers=request.headers)
        assert response.status_code == 200, response.data


def component(func: tuple) -> str:
    """The library or part of the CRM a profiled function belongs to."""
    filename, _line, name = func
    if filename == "~":
        for fragment, method, label in BUILTIN_GROUPS:
            if fragment in name and method in name:
                return label
        return "other built-ins"
    match = re.search(r"site-packages/([A-Za-z0-9_]+)", filename)
    if match:
        return match.group(1)
    match = re.search(r"/(crm|bench|surveys)/", filename)
    if match:
        return match.group(1) + " (project code)"
    match = re.search(r"python3\.\d+/([A-Za-z0-9_]+)", filename)
    return f"stdlib {match.group(1)}" if match else filename


def report(stats: pstats.Stats, events: int) -> str:
    """Self time by component and cumulative time of the request's steps, per event."""
    by_component, total = defaultdict(float), 0.0
    for func, (_cc, _nc, self_time, _cumulative, _callers) in stats.stats.items():
        by_component[component(func)] += self_time
        total += self_time
    lines = [f"self time by component (profiled total {total / events * 1000:.2f} ms/event):"]
    for name, seconds in sorted(by_component.items(), key=lambda item: -item[1])[:18]:
        lines.append(f"  {name:32} {seconds / events * 1000:7.3f} ms  {seconds / total:6.1%}")
    lines.append("cumulative time of the steps (ms/event):")
    for label, fragment, name in STEPS:
        cumulative = sum(row[3] for func, row in stats.stats.items() if fragment in func[0] and func[2] == name)
        lines.append(f"  {label:40} {cumulative / events * 1000:7.3f} ms  {cumulative / total:6.1%}")
    return "\n".join(lines)


def sql_of_one_event(app, request) -> list[str]:
    """The SQL statements the CRM runs for one follow event."""
    statements = []
    engine = get_engine(app)

    def record(_conn, _cursor, statement, _parameters, _context, _many):
        statements.append(" ".join(statement.split())[:160])

    event.listen(engine, "before_cursor_execute", record)
    try:
        post_all(app.test_client(), [request])
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return statements


def profile(database: str, events: int, folder: Path, handling: str = "inline") -> None:
    """Measure, then profile, `events` follow webhooks on a fresh database."""
    with fresh_database(database, folder) as db:
        app = build_app(db.url, folder / "crm.log", handling)
        client = app.test_client()
        post_all(client, follow_webhooks(300, secret=SECRET, seed=f"warm-{time.time_ns()}"))
        requests = follow_webhooks(events, secret=SECRET, seed=f"plain-{time.time_ns()}")
        started, cpu_started, db_started = time.perf_counter(), time.process_time(), process_tree_cpu(db.server_pid)
        post_all(client, requests)
        plain = (time.perf_counter() - started) / events * 1000
        cpu = (time.process_time() - cpu_started) / events * 1000
        db_cpu = (process_tree_cpu(db.server_pid) - db_started) / events * 1000
        requests = follow_webhooks(events, secret=SECRET, seed=f"profiled-{time.time_ns()}")
        profiler = cProfile.Profile()
        profiler.runcall(post_all, client, requests)
        statements = sql_of_one_event(app, follow_webhooks(1, secret=SECRET, seed=f"sql-{time.time_ns()}")[0])
        get_engine(app).dispose()
    print(
        f"\n== {database}, {handling}: {events} follow webhooks through the test client without the profiler: "
        f"{plain:.2f} ms/event wall, CPU {cpu:.2f} ms/event in the app, {db_cpu:.2f} in the database server"
    )
    print(report(pstats.Stats(profiler), events))
    print(f"SQL of one event ({len(statements)} statements):")
    print("\n".join("  " + statement for statement in statements))


def main(argv: Sequence[str] | None = None) -> int:
    """CLI."""
    parser = argparse.ArgumentParser(prog="python -m bench.profile_webhook", description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="sqlite,postgresql", help="sqlite, postgresql or both (default)")
    parser.add_argument("--events", type=int, default=2000, help="events to profile (default 2000)")
    parser.add_argument(
        "--handling",
        choices=WEBHOOK_HANDLINGS,
        default="inline",
        help="inline (default: storing and handling) or queued (the answer alone)",
    )
    args = parser.parse_args(argv)
    os.environ.setdefault("CRM_ENV", "development")
    for database in args.database.split(","):
        with tempfile.TemporaryDirectory(prefix="crm-profile-") as folder:
            profile(database.strip(), args.events, Path(folder), args.handling)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
