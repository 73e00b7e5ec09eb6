"""Friend list latency at scale: the real console page (Flask test client, signed in) on SQLite and PostgreSQL.

Generates friends with ~10 tags each into a fresh SQLite file and a throwaway PostgreSQL cluster, then times
GET /friends for each kind of query (sorts, deep pages, search, tag filters, dates, combinations) and prints
p50/p95 per kind. Goal: p95 <= 100 ms at 1M friends and 10M tag links.

    python -m bench.console --friends 1000000          (generation takes several minutes per database)
    python -m bench.console --sqlite-file /tmp/crm-1m.sqlite3 --databases sqlite   (reuse a generated file)
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine

from bench.generate import generate_friends, generate_tags
from bench.servers import process_tree_cpu
from crm import create_app, migrate
from crm.config import testing_config
from crm.db import get_engine, make_engine, session_scope
from crm.friends.models import Friend
from crm.staff.models import Staff
from crm.staff.service import create_staff
from crm.tags.models import Tag

GOAL_P95_MS = 100.0
ROOT = Path(__file__).resolve().parent.parent
PG_SETTINGS = {"shared_buffers": "1GB", "effective_cache_size": "4GB", "random_page_cost": "1.1", "work_mem": "16MB"}
NEXT_LINK = re.compile(r'rel="next" href="([^"]+)"')


def query_kinds(engine) -> list[tuple[str, str]]:
    """(label, query string) of each kind of list request, with tags picked by popularity."""
    with engine.connect() as connection:
        tags = connection.execute(select(Tag.id, Tag.friend_count).order_by(Tag.friend_count.desc())).all()
    common, mid, mid2, mid3, rare, rarest = (
        tags[0],
        tags[len(tags) // 3],
        tags[len(tags) // 3 + 5],
        tags[len(tags) // 3 + 10],
        tags[-4],
        tags[-1],
    )
    q = lambda term: "q=" + quote(term)  # noqa: E731
    return [
        ("first page, newest follow", ""),
        ("sort: last interaction, newest", "sort=interaction_desc"),
        ("sort: followed, oldest", "sort=followed_asc"),
        ("status: blocked", "status=blocked"),
        ("search: 2 chars, common (佐藤)", q("佐藤")),
        ("search: 1 char (藤)", q("藤")),
        ("search: romaji (hanako)", q("hanako")),
        ("search: rare (美咲🌸)", q("美咲🌸")),
        ("search: no match (xyz)", q("xyz")),
        ("search: full name without its space (佐藤花子)", q("佐藤花子")),
        ("search: kana, katakana typed (ハナコ)", q("ハナコ")),
        ("search: a reading (さとう)", q("さとう")),
        (f"tag: common ({common[1]:,} friends)", f"tag_all={common[0]}"),
        (f"tag: mid ({mid[1]:,} friends)", f"tag_all={mid[0]}"),
        (f"tag: rare ({rare[1]:,} friends)", f"tag_all={rare[0]}"),
        (f"tag: rarest ({rarest[1]:,} friends)", f"tag_all={rarest[0]}"),
        ("tags: any of 2 (mid, rare)", f"tag_any={mid[0]}&tag_any={rare[0]}"),
        ("tags: all of 2 (mid, rare)", f"tag_all={mid[0]}&tag_all={rare[0]}"),
        ("tags: all of 3 mid", f"tag_all={mid[0]}&tag_all={mid2[0]}&tag_all={mid3[0]}"),
        ("tags: none of 3 common", "&".join(f"tag_none={tag[0]}" for tag in tags[:3])),
        ("interaction within 7 days", "interaction=within&days=7"),
        ("interaction within 7 days, sort by it", "interaction=within&days=7&sort=interaction_desc"),
        ("no interaction for 90 days", "interaction=older&days=90"),
        ("no interaction for 365 days", "interaction=older&days=365"),
        ("followed in one month", "followed_from=2026-01-01&followed_to=2026-01-31&sort=interaction_desc"),
        (
            "combined: search + tags + status",
            f"{q('花子')}&tag_any={common[0]}&tag_any={mid[0]}&tag_none={rare[0]}&status=following",
        ),
        ("combined: tag + 30 days, oldest", f"tag_all={mid[0]}&interaction=within&days=30&sort=followed_asc"),
    ]


def daily_pages(engine) -> list[tuple[str, str]]:
    """The other pages staff open all day: the dashboard, a friend page (the newest friend), the chat inbox."""
    with engine.connect() as connection:
        newest = connection.execute(select(func.max(Friend.id))).scalar()
    return [
        ("page: dashboard (/)", "/"),
        ("page: a friend (/friends/<id>)", f"/friends/{newest}"),
        ("page: chat inbox (/chat)", "/chat"),
        ("page: chat inbox, unread (/chat?unread=1)", "/chat?unread=1"),
    ]


def signed_in(app):
    """A test client signed in as a staff member (full names, tags, counts, bulk form)."""
    from tests.console_helpers import PASSWORD, login

    email = "bench-staff@example.com"
    with session_scope(get_engine(app)) as session:
        if session.exec(select(Staff).where(Staff.email == email)).first() is None:
            create_staff(session, email=email, password=PASSWORD, display_name="Bench", role="staff", locale="en")
    client = app.test_client()
    assert login(client, email).status_code == 302
    return client


def page_url(client, query: str, page: int) -> str:
    """The URL of the given page (1-based) of a listing, found by following "next" links."""
    url = "/friends?" + query
    for _ in range(page - 1):
        match = NEXT_LINK.search(client.get(url).get_data(as_text=True))
        url = match.group(1).replace("&amp;", "&")
    return url


def time_url(client, url: str, repeat: int, server_pid: int | None) -> dict:
    """Median, p95 and max of GET url (after two warm-up requests), CPU per request, and the rows shown.

    CPU is this process plus the database server's processes (PostgreSQL): unlike wall-clock time, it does
    not grow when other work shares the machine.
    """
    for _ in range(2):
        body = client.get(url).get_data(as_text=True)
    times = []
    cpu_started = time.process_time() + process_tree_cpu(server_pid)
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    cpu = (time.process_time() + process_tree_cpu(server_pid) - cpu_started) * 1000 / repeat
    times.sort()
    return {
        "p50": statistics.median(times),
        "p95": times[max(0, round(0.95 * len(times)) - 1)],
        "max": times[-1],
        "cpu": cpu,
        "rows": body.count("<tr data-friend="),
        "bytes": len(response.get_data()),
    }


def server_pid(engine) -> int | None:
    """The PostgreSQL postmaster's pid when the server runs on this machine (None for SQLite or remote)."""
    if engine.dialect.name != "postgresql":
        return None
    with engine.connect() as connection:
        folder = connection.execute(text("SHOW data_directory")).scalar()
    try:
        return int((Path(folder) / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def measure(database_url: str, repeat: int, *, pages_only: bool = False) -> dict[str, dict]:
    """Time every query kind through the console on this database (only the daily pages when pages_only)."""
    app = create_app(testing_config(database_url))
    logging.getLogger("crm.request").setLevel(logging.WARNING)  # one log line per request would dominate
    client = signed_in(app)
    engine = get_engine(app)
    pid, kinds = server_pid(engine), [] if pages_only else query_kinds(engine)
    print(f"  load average before: {os.getloadavg()[0]:.1f}", flush=True)
    results = {}
    urls = [(label, "/friends?" + query) for label, query in kinds]
    urls += [] if pages_only else [("page 20 by cursor", page_url(client, "", 20))]
    urls += daily_pages(engine)
    for label, url in urls:
        results[label] = figures = time_url(client, url, repeat, pid)
        print(
            f"  {label:42s} p50 {figures['p50']:6.1f}  p95 {figures['p95']:6.1f}  CPU {figures['cpu']:6.1f} ms"
            f"  {figures['bytes'] / 1024:6.1f} KiB",
            flush=True,
        )
    print(f"  load average after: {os.getloadavg()[0]:.1f}", flush=True)
    get_engine(app).dispose()
    return results


def generate(
    database_url: str, friends: int, tags_per_friend: float, extras: Callable[[Engine], None] | None = None
) -> None:
    """Migrate, then generate friends, tags and (through `extras`) more, unless the database has friends."""
    migrate.upgrade(database_url)
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            existing = connection.execute(select(func.count()).select_from(Friend)).scalar()
        if existing:
            print(f"  reusing {existing:,} friends", flush=True)
            return
        print("  " + str(generate_friends(engine, friends)), flush=True)
        print("  " + str(generate_tags(engine, per_friend=tags_per_friend)), flush=True)
        if extras is not None:
            extras(engine)
        if engine.dialect.name == "postgresql":
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.execute(text("VACUUM ANALYZE"))  # what autovacuum leaves after a load
    finally:
        engine.dispose()


def tune_and_restart(cluster) -> None:
    """Give the throwaway cluster ordinary server settings (its defaults suit tests, not 1M rows)."""
    with cluster.admin() as connection:
        for name, value in PG_SETTINGS.items():
            connection.execute(f"ALTER SYSTEM SET {name} = '{value}'")
    command = [
        str(Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin")) / "pg_ctl"),
        "restart",
        "-w",
        "-D",
        f"{cluster.folder}/data",
        "-l",
        f"{cluster.folder}/pg.log",
    ]
    if os.geteuid() == 0:
        command = ["runuser", "-u", "postgres", "--", *command]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)


def run_sqlite(args) -> dict[str, dict]:
    """Generate (or reuse) the SQLite file and measure."""
    folder = None if args.sqlite_file else tempfile.TemporaryDirectory(prefix="crm-bench-console-")
    path = args.sqlite_file or Path(folder.name) / "crm.sqlite3"
    try:
        url = f"sqlite:///{path}"
        generate(url, args.friends, args.tags_per_friend)
        return measure(url, args.repeat, pages_only=args.pages_only)
    finally:
        if folder is not None:
            folder.cleanup()


def run_postgresql(args) -> dict[str, dict]:
    """Generate into a throwaway cluster (or reuse a database) and measure."""
    if args.postgresql_url:
        generate(args.postgresql_url, args.friends, args.tags_per_friend)
        return measure(args.postgresql_url, args.repeat, pages_only=args.pages_only)
    from tests.pg_cluster import start_cluster

    cluster = start_cluster()
    try:
        tune_and_restart(cluster)
        url = cluster.create_database("bench_console")
        generate(url, args.friends, args.tags_per_friend)
        return measure(url, args.repeat, pages_only=args.pages_only)
    finally:
        cluster.stop()


def table(results: dict[str, dict[str, dict]]) -> str:
    """A text table: one line per query kind, p50/p95 per database; "!" marks p95 over the goal."""
    databases = list(results)
    labels = list(next(iter(results.values())))
    head = f"{'query kind':40s}" + "".join(f"{db + ' p50':>16s}{'p95':>8s}{'CPU':>7s}" for db in databases) + "  rows"
    lines = [head, "-" * len(head)]
    for label in labels:
        cells = ""
        for db in databases:
            figures = results[db][label]
            flag = "!" if figures["p95"] > GOAL_P95_MS else " "
            cells += f"{figures['p50']:13.1f} ms{figures['p95']:7.1f}{flag}{figures['cpu']:7.1f}"
        lines.append(f"{label:40s}{cells}  {results[databases[0]][label]['rows']:4d}")
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None):
    parser = argparse.ArgumentParser(prog="python -m bench.console", description=__doc__.splitlines()[0])
    parser.add_argument("--friends", type=int, default=1_000_000, help="friends to generate (default 1,000,000)")
    parser.add_argument("--tags-per-friend", type=float, default=10, help="tag links per friend (default 10)")
    parser.add_argument("--databases", default="sqlite,postgresql", help="sqlite, postgresql or both")
    parser.add_argument("--repeat", type=int, default=20, help="timed requests per query kind (default 20)")
    parser.add_argument("--sqlite-file", type=Path, help="use (and keep) this SQLite file; generated if empty")
    parser.add_argument("--postgresql-url", help="use this PostgreSQL database instead of a throwaway cluster")
    parser.add_argument(
        "--pages-only", action="store_true", help="time only the daily pages (dashboard, friend, inbox), not the list"
    )
    parser.add_argument("--json", type=Path, help="also write the figures here (default bench/results/)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print the table; exit 1 when some p95 misses the goal."""
    args = parse_args(argv)
    runners = {"sqlite": run_sqlite, "postgresql": run_postgresql}
    results = {}
    for database in args.databases.split(","):
        print(f"{database}: {args.friends:,} friends, ~{args.tags_per_friend:g} tags each", flush=True)
        results[database] = runners[database](args)
    print()
    print(table(results))
    path = args.json or ROOT / "bench" / "results" / time.strftime("console-%Y%m%d-%H%M%S.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps(
            {
                "friends": args.friends,
                "tags_per_friend": args.tags_per_friend,
                "pg_settings": PG_SETTINGS,
                "results": results,
            },
            indent=2,
            ensure_ascii=False,
        )
    )
    print(f"\nfigures written to {path}")
    return 0 if all(f["p95"] <= GOAL_P95_MS for r in results.values() for f in r.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
