"""The chat inbox, the dashboard and a friend page at scale (issue 17): server time, the unread query alone, page
weight and time to first render, on SQLite and PostgreSQL.

Data comes from the shared generator (friends, a few tags each, chat messages skewed over the friends with the
inbox's conversations); a database that already has friends is reused and only given messages if it has none.
Pages are timed through the Flask test client (p50/p95 server time, CPU per request with the database server's);
the unread query is timed on its own (the conversation list's query with the unread filter, and its unread counts);
with --browser, Chromium loads each page over HTTP and reports its first contentful paint and bytes of HTML, CSS
and JS.

    python -m bench.inbox --sqlite-file /tmp/crm-1m.sqlite3 --friends 1000000 --messages 3000000 --browser
    python -m bench.inbox --postgresql-url URL --friends 1000000 --messages 3000000
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import statistics
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import event, func, select
from werkzeug.serving import make_server

from bench.console import generate, server_pid, signed_in, time_url
from bench.generate_talk import generate_messages
from bench.servers import process_tree_cpu
from crm import create_app
from crm.config import testing_config
from crm.db import get_engine, make_engine, session_scope
from crm.friends.models import Friend, Message
from crm.inbox.conversations import InboxFilter, list_conversations
from crm.inbox.models import Conversation

GOAL_PAGE_P95_MS = 300.0
GOAL_UNREAD_MS = 50.0
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FIRST_PAINT_JS = "() => performance.getEntriesByType('paint').some((e) => e.name === 'first-contentful-paint')"
# Bytes a page costs the browser: the document and what it loads to render (styles and scripts).
PAGE_WEIGHT_JS = """() => {
  const kinds = new Set(["link", "script", "css"]);
  const entries = [...performance.getEntriesByType("navigation"),
                   ...performance.getEntriesByType("resource").filter((e) => kinds.has(e.initiatorType))];
  const paint = performance.getEntriesByType("paint").find((e) => e.name === "first-contentful-paint");
  return {bytes: entries.reduce((sum, e) => sum + e.decodedBodySize, 0), files: entries.length,
          fcp: paint ? paint.startTime : null};
}"""


def ensure_data(url: str, *, friends: int, messages: int) -> None:
    """Generate friends (with 2 tags each) unless the database has some, then messages unless it has some."""
    generate(url, friends, 2)
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            held = connection.execute(select(func.count()).select_from(Message)).scalar()
        if held:
            print(f"  reusing {held:,} messages", flush=True)
        else:
            for result in generate_messages(engine, messages):
                print("  " + str(result), flush=True)
    finally:
        engine.dispose()


def pages(engine) -> list[tuple[str, str]]:
    """(label, URL) of the pages timed: the inbox and its unread filter, the most talkative friend's talk and
    friend page, a typical friend's talk, and the dashboard."""
    with engine.connect() as connection:
        heavy, items = connection.execute(
            select(Message.friend_id, func.count()).group_by(Message.friend_id).order_by(func.count().desc()).limit(1)
        ).one()
        typical = connection.execute(
            select(Conversation.friend_id).order_by(Conversation.last_message_id.desc()).limit(1)
        ).scalar()
    return [
        ("dashboard (/)", "/"),
        ("inbox (/chat)", "/chat"),
        ("inbox, unread (/chat?unread=1)", "/chat?unread=1"),
        ("inbox, name search (/chat?q=佐藤)", "/chat?q=%E4%BD%90%E8%97%A4"),
        ("talk, newest conversation", f"/chat/{typical}"),
        (f"talk, busiest friend ({items:,} messages)", f"/chat/{heavy}"),
        ("friend page, busiest friend", f"/friends/{heavy}"),
        ("friend page, newest conversation", f"/friends/{typical}"),
    ]


def time_unread_query(engine, repeat: int, server: int | None) -> dict:
    """The unread list on its own (its first page and the unread counts): wall time, the time spent in the
    database's statements, and CPU per call (this process and the database server's)."""
    spent: list[float] = []

    def started(conn, *_):
        conn.info["statement_started"] = time.perf_counter()

    def finished(conn, *_):
        spent.append(time.perf_counter() - conn.info.pop("statement_started"))

    times, statements = [], []
    with session_scope(engine) as session:
        list_conversations(session, flt=InboxFilter(unread=True), staff_id=0)  # warm
        event.listen(engine, "before_cursor_execute", started)
        event.listen(engine, "after_cursor_execute", finished)
        cpu_started = time.process_time() + process_tree_cpu(server)
        try:
            for _ in range(repeat):
                spent.clear()
                began = time.perf_counter()
                rows = list_conversations(session, flt=InboxFilter(unread=True), staff_id=0)
                times.append((time.perf_counter() - began) * 1000)
                statements.append(sum(spent) * 1000)
        finally:
            event.remove(engine, "before_cursor_execute", started)
            event.remove(engine, "after_cursor_execute", finished)
        cpu = (time.process_time() + process_tree_cpu(server) - cpu_started) * 1000 / repeat
    times.sort()
    statements.sort()
    p95 = max(0, round(0.95 * len(times)) - 1)
    return {
        "p50": statistics.median(times),
        "p95": times[p95],
        "sql_p50": statistics.median(statements),
        "sql_p95": statements[p95],
        "cpu": cpu,
        "rows": len(rows),
    }


def browser_figures(app, urls: list[tuple[str, str]], email: str) -> dict[str, dict]:
    """First contentful paint and bytes of HTML/CSS/JS of each page, loaded by Chromium over HTTP at 1366 and
    390 px with an empty browser cache (the server is warm: the pages were timed before)."""
    from playwright.sync_api import sync_playwright

    from tests.browser.pages import sign_in

    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    figures = {}
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM)
            context = browser.new_context()
            sign_in(context.new_page(), base, email)
            context.pages[0].wait_for_url(f"{base}/")
            signed_in_state = context.storage_state()
            context.close()
            for width in (1366, 390):
                for label, url in urls:  # a fresh context each: nothing cached, as on a first visit
                    context = browser.new_context(
                        storage_state=signed_in_state, viewport={"width": width, "height": 900}
                    )
                    page = context.new_page()
                    page.goto(base + url)
                    page.wait_for_load_state("load")
                    page.wait_for_function(FIRST_PAINT_JS, timeout=10_000)  # on a busy machine it may come later
                    figures[f"{label} @{width}"] = page.evaluate(PAGE_WEIGHT_JS)
                    context.close()
            browser.close()
    finally:
        server.shutdown()
    return figures


def run(url: str, args) -> None:
    """Generate or reuse the data, then print every figure for this database."""
    ensure_data(url, friends=args.friends, messages=args.messages)
    app = create_app(testing_config(url, LINE_API_BASE="http://127.0.0.1:9"))
    logging.getLogger("crm.request").setLevel(logging.WARNING)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # the browser's requests
    logging.getLogger("crm.inbox.image_views").setLevel(logging.ERROR)  # thumbnails: no LINE here
    engine = get_engine(app)
    with engine.connect() as connection:
        friends = connection.execute(select(func.count()).select_from(Friend)).scalar()
        messages = connection.execute(select(func.count()).select_from(Message)).scalar()
        unread = connection.execute(
            select(func.count())
            .select_from(Conversation)
            .where(Conversation.last_incoming_id > Conversation.last_read_message_id)
        ).scalar()
    print(f"{engine.dialect.name}: {friends:,} friends, {messages:,} messages, {unread:,} unread conversations")
    print(f"  load average before: {os.getloadavg()[0]:.1f}", flush=True)
    client, pid = signed_in(app), server_pid(engine)
    query = time_unread_query(engine, args.repeat, pid)
    flag = "!" if query["p95"] > GOAL_UNREAD_MS else " "
    print(
        f"  {'unread query alone (list + counts)':44s} p50 {query['p50']:6.1f}  p95 {query['p95']:6.1f}{flag} CPU"
        f" {query['cpu']:6.1f} ms  in SQL p50 {query['sql_p50']:.1f} p95 {query['sql_p95']:.1f} ms"
        f"  ({query['rows']} rows)"
    )
    urls = pages(engine)
    for label, target in urls:
        figures = time_url(client, target, args.repeat, pid)
        flag = "!" if figures["p95"] > GOAL_PAGE_P95_MS else " "
        print(
            f"  {label:44s} p50 {figures['p50']:6.1f}  p95 {figures['p95']:6.1f}{flag} CPU {figures['cpu']:6.1f} ms"
            f"  HTML {figures['bytes'] / 1024:6.1f} KiB",
            flush=True,
        )
    if args.browser:
        shown = [(label, target) for label, target in urls if not label.startswith(("inbox, name", "talk, newest"))]
        for label, figures in browser_figures(app, shown, "bench-staff@example.com").items():
            print(
                f"  {label:50s} first paint {figures['fcp'] or float('nan'):6.0f} ms"
                f"  HTML+CSS+JS {figures['bytes'] / 1024:6.1f} KiB in {figures['files']} files",
                flush=True,
            )
    print(f"  load average after: {os.getloadavg()[0]:.1f}", flush=True)
    engine.dispose()


def parse_args(argv: Sequence[str] | None):
    parser = argparse.ArgumentParser(prog="python -m bench.inbox", description=__doc__.splitlines()[0])
    parser.add_argument("--friends", type=int, default=1_000_000, help="friends to generate (default 1,000,000)")
    parser.add_argument("--messages", type=int, default=3_000_000, help="messages to generate (default 3,000,000)")
    parser.add_argument("--sqlite-file", type=Path, help="use (and keep) this SQLite file; generated if empty")
    parser.add_argument("--postgresql-url", help="use (and keep) this PostgreSQL database; generated if empty")
    parser.add_argument("--repeat", type=int, default=20, help="timed requests per page (default 20)")
    parser.add_argument("--browser", action="store_true", help="also load the pages in Chromium (first paint, bytes)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if not args.sqlite_file and not args.postgresql_url:
        raise SystemExit("give --sqlite-file and/or --postgresql-url (generated data is kept for the next run)")
    if args.sqlite_file:
        run(f"sqlite:///{args.sqlite_file}", args)
    if args.postgresql_url:
        run(args.postgresql_url, args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
