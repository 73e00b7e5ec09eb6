"""Tracked-click redirect under a burst: clicks recorded per second (counted in the database), p50/p99,
against a bare WSGI 302 floor under the same gunicorn settings in the same run.

Each request is GET /r/<token> of a different friend's token for one broadcast link (tokens cycle when a
run outlasts them), answered 302. With `--links plain,tag` the same burst also runs on a link that tags the
friend on click, while the worker's click actions job (bench.click_worker) applies the tags; the run then
waits for the worker to drain the queue and checks every click was tagged once. Goal: >= 5,000 clicks/s,
>= 0.7 x the floor, p99 <= 20 ms on 2 cores; tag-on-click >= 0.8 x the plain click rate.

    python -m bench.redirect [--databases sqlite,postgresql] [--concurrency 1,8,32] [--gunicorn 2x4]
        [--links plain,tag]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import replace
from pathlib import Path

from sqlalchemy import func, select

from bench import wrk
from bench.generate import generate_friends, generate_link_tokens
from bench.loadgen import LoadResult
from bench.servers import ROOT, Gunicorn, GunicornSettings, fresh_database, process_tree_cpu
from bench.webhook import server_env
from crm import migrate
from crm.actions.models import ActionRun
from crm.db import make_engine
from crm.tags.models import FriendTag, Tag
from crm.timeutil import utcnow
from crm.tracking.models import ClickAction, LinkClick, TrackedLink

GOAL_RATE, GOAL_P99_MS, GOAL_FLOOR_RATIO, GOAL_TAG_RATIO = 5000.0, 20.0, 0.7, 0.8
FLOOR_APP = "bench.bare_redirect:app"
USER_AGENT = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 Line/14.10.0"
LUA = """
local counter = 0
function setup(thread) thread:set("id", counter); counter = counter + 1 end
function init(args)
  paths = {}
  for line in io.lines(args[1]) do
    paths[#paths + 1] = wrk.format("GET", "/r/" .. line, {["User-Agent"] = args[2]})
  end
  sent = id * 7919
end
function request() sent = sent + 1; return paths[(sent % #paths) + 1] end
function done(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format(
    '{"requests": %d, "seconds": %.3f, "non2xx": %d, "errors": %d, "p50": %.3f, "p95": %.3f, "p99": %.3f}\\n',
    summary.requests, summary.duration / 1e6, summary.errors.status, errors,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000))
end
"""


def drive_wrk(port: int, tokens_path: Path, concurrency: int, seconds: float) -> LoadResult:
    """wrk -t1 for `seconds` from `concurrency` keep-alive connections."""
    script = tokens_path.with_name("redirect.lua")
    script.write_text(LUA)
    command = [
        "wrk",
        "-t1",
        f"-c{concurrency}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "30s",
        "-s",
        str(script),
        f"http://127.0.0.1:{port}",
        "--",
        str(tokens_path),
        USER_AGENT,
    ]
    cpu_before = wrk._children_cpu()
    output = subprocess.run(command, capture_output=True, text=True, check=True, timeout=seconds + 60).stdout
    summary = json.loads(output.strip().splitlines()[-1])
    failed = summary["non2xx"] + summary["errors"]
    statuses = {302: summary["requests"] - failed, **({"failed": failed} if failed else {})}
    return LoadResult(
        concurrency,
        seconds=summary["seconds"],
        client_cpu_seconds=wrk._children_cpu() - cpu_before,
        statuses=statuses,
        reported_percentiles={p: summary[f"p{p}"] for p in wrk.PERCENTILES},
    )


def drive_python(port: int, tokens: list[str], concurrency: int, seconds: float) -> LoadResult:
    """Fallback client: threads with one keep-alive http.client connection each, for `seconds`."""
    result, lock = LoadResult(concurrency), threading.Lock()
    stop_at = time.perf_counter() + seconds

    def client(offset: int) -> None:
        connection, statuses, latencies = http.client.HTTPConnection("127.0.0.1", port, timeout=30), {}, []
        index = offset
        while (started := time.perf_counter()) < stop_at:
            connection.request("GET", f"/r/{tokens[index % len(tokens)]}", headers={"User-Agent": USER_AGENT})
            response = connection.getresponse()
            response.read()
            latencies.append((time.perf_counter() - started) * 1000)
            statuses[response.status] = statuses.get(response.status, 0) + 1
            index += concurrency
        with lock:
            result.latencies_ms.extend(latencies)
            for status, count in statuses.items():
                result.statuses[status] = result.statuses.get(status, 0) + count

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(concurrency)]
    started, cpu = time.perf_counter(), time.process_time()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result.seconds, result.client_cpu_seconds = time.perf_counter() - started, time.process_time() - cpu
    return result


def measure(server: Gunicorn, tokens: list[str], tokens_path: Path, args, label: str, *, db=None) -> list[dict]:
    """Warm up, then one run per concurrency: clicks counted in the database (the floor: its 302s), latency,
    server CPU (gunicorn, the database server and the worker)."""
    engine = make_engine(db.url) if db else None
    count = (lambda: _count(engine)) if engine else None
    rows = []
    drive_python(server.port, tokens, 4, 1.0)
    for concurrency in args.concurrency:
        before, cpu_before = count() if count else 0, _cpu(server, db)
        if args.client == "wrk":
            load = drive_wrk(server.port, tokens_path, concurrency, args.seconds)
        else:
            load = drive_python(server.port, tokens, concurrency, args.seconds)
        drained = _drain(engine, args.drain_seconds) if engine and label.endswith("tag") else None
        cpu = _cpu(server, db) - cpu_before
        clicks = count() - before if count else load.statuses.get(302, 0)
        row = {
            "database": label,
            "gunicorn": str(server.settings),
            "concurrency": concurrency,
            "clicks": clicks,
            "clicks_per_s": clicks / load.seconds,
            "answered": load.statuses,
            "p50_ms": load.percentile(50),
            "p99_ms": load.percentile(99),
            "cpu_ms_per_click": cpu * 1000 / clicks if clicks else float("nan"),
            "client_cpu_ms": load.client_cpu_ms,
            "drain_s": drained,
            "load_average": os.getloadavg()[0],
        }
        rows.append(row)
        print(_line(row), flush=True)
    if engine:
        engine.dispose()
    return rows


def _count(engine) -> int:
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(LinkClick.__table__)).scalar_one()


def _queued(engine) -> int:
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(ClickAction.__table__)).scalar_one()


def _drain(engine, timeout: float) -> float:
    """Wait until the worker has run every queued click action; return the seconds it took after the burst."""
    started = time.perf_counter()
    while _queued(engine) and time.perf_counter() - started < timeout:
        time.sleep(0.2)
    return time.perf_counter() - started


def _cpu(server: Gunicorn, db) -> float:
    cpu = process_tree_cpu(server.process.pid)
    return cpu + process_tree_cpu(db.server_pid) + process_tree_cpu(db.worker_pid) if db else cpu


def _line(row: dict) -> str:
    drained = f"  queue drained {row['drain_s']:.1f} s after" if row["drain_s"] is not None else ""
    return (
        f"{row['database']:16} {row['gunicorn']:13} c={row['concurrency']:<3} {row['clicks_per_s']:8.0f} "
        f"clicks/s  p50 {row['p50_ms']:6.2f} ms  p99 {row['p99_ms']:6.2f} ms  "
        f"CPU {row['cpu_ms_per_click']:.3f} ms/click (client {row['client_cpu_ms']:.3f})  "
        f"{row['answered']}  load {row['load_average']:.1f}{drained}"
    )


def summary(rows: list[dict]) -> list[str]:
    """Each CRM row against the floor (and a tag-on-click row against the plain link) of its setting and
    concurrency, with the goals."""
    by_key = {(row["database"], row["gunicorn"], row["concurrency"]): row for row in rows}
    lines = []
    for row in rows:
        if row["database"] == "floor":
            continue
        key = (row["gunicorn"], row["concurrency"])
        floor = by_key.get(("floor", *key))
        ratio = row["clicks_per_s"] / floor["clicks_per_s"] if floor and floor["clicks_per_s"] else float("nan")
        met = row["clicks_per_s"] >= GOAL_RATE and ratio >= GOAL_FLOOR_RATIO and row["p99_ms"] <= GOAL_P99_MS
        line = f"{row['database']:16} {key[0]:13} c={key[1]:<3} {ratio:5.2f} x floor  {'met' if met else 'below goal'}"
        if row["database"].endswith(" tag"):
            plain = by_key.get((row["database"].removesuffix(" tag") + " plain", *key))
            tag_ratio = row["clicks_per_s"] / plain["clicks_per_s"] if plain and plain["clicks_per_s"] else float("nan")
            line += f";  {tag_ratio:5.2f} x plain  {'met' if tag_ratio >= GOAL_TAG_RATIO else 'below goal'}"
        lines.append(line)
    return lines


def run(args, folder: Path) -> tuple[list[dict], list[str]]:
    """The floor under each gunicorn setting; then each database: friends and a token per friend for each kind
    of link, then each gunicorn setting at each concurrency (the worker running when a link tags)."""
    rows, commands, tokens_path = [], [], folder / "tokens-floor.txt"
    floor_tokens = [f"floor{index}" for index in range(1000)]
    tokens_path.write_text("\n".join(floor_tokens) + "\n")
    for settings in args.gunicorn:
        with Gunicorn(FLOOR_APP, settings, env=server_env(None), log_path=folder / "floor.log") as server:
            commands.append(shlex.join(server.command()))
            rows += measure(server, floor_tokens, tokens_path, args, "floor")
    for database in args.databases:
        with fresh_database(database, folder) as db:
            migrate.upgrade(db.url)
            engine = make_engine(db.url)
            generate_friends(engine, args.friends)
            links = {
                kind: generate_link_tokens(engine, tag_id=_tag(engine) if kind == "tag" else None, seed=index)
                for index, kind in enumerate(args.links)
            }
            engine.dispose()
            with _worker(db, folder) if "tag" in args.links else nullcontext(db) as measured:
                for kind, (loaded, tokens) in links.items():
                    print(f"{database} {kind}: {loaded}", flush=True)
                    tokens_path = folder / f"tokens-{database}-{kind}.txt"
                    tokens_path.write_text("\n".join(tokens) + "\n")
                    for settings in args.gunicorn:
                        env = server_env(db.url)
                        with Gunicorn("app:app", settings, env=env, log_path=folder / "crm.log") as server:
                            commands.append(f"DATABASE_URL={db.url} CRM_ENV=development {shlex.join(server.command())}")
                            rows += measure(server, tokens, tokens_path, args, f"{database} {kind}", db=measured)
                if "tag" in args.links:
                    print(f"{database}: {_tagged_once(db.url)}", flush=True)
    return rows, commands


def _tag(engine) -> int:
    with engine.begin() as connection:
        return connection.execute(
            Tag.__table__.insert()
            .values(name="clicked", friend_count=0, color="#06c755", created_at=utcnow())
            .returning(Tag.__table__.c.id)
        ).scalar_one()


@contextmanager
def _worker(db, folder: Path):
    """The worker's click actions job in its own process (bench.click_worker) for the database; yields the
    database with the worker's pid for the CPU figures."""
    with open(folder / "worker.log", "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "bench.click_worker"],
            cwd=ROOT,
            env=server_env(db.url),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        yield replace(db, worker_pid=process.pid)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _tagged_once(url: str) -> str:
    """Exactly-once check after the worker drained: one action run per queued click, one tag per clicking friend."""
    engine = make_engine(url)
    with engine.connect() as connection:
        scalar = lambda query: connection.execute(query).scalar_one()  # noqa: E731
        link_ids = select(TrackedLink.__table__.c.id).where(TrackedLink.__table__.c.tag_id.is_not(None))
        click_table, run_table = LinkClick.__table__, ActionRun.__table__
        clicks = scalar(select(func.count()).select_from(click_table).where(click_table.c.link_id.in_(link_ids)))
        friends = scalar(
            select(func.count(click_table.c.friend_id.distinct())).where(click_table.c.link_id.in_(link_ids))
        )
        runs = scalar(select(func.count()).select_from(run_table).where(run_table.c.kind == "add_tag"))
        tagged = scalar(select(func.count()).select_from(FriendTag.__table__))
        queued = scalar(select(func.count()).select_from(ClickAction.__table__))
    engine.dispose()
    verdict = "ok" if (runs, tagged, queued) == (clicks, friends, 0) else "MISMATCH"
    return (
        f"tag-on-click check {verdict}: {clicks} clicks, {runs} add_tag runs, {friends} friends clicked, "
        f"{tagged} tagged, {queued} still queued"
    )


def parse_args(argv: Sequence[str] | None):
    """Command-line options."""
    parser = argparse.ArgumentParser(prog="python -m bench.redirect", description=__doc__.splitlines()[0])
    split = lambda kind: lambda text: [kind(item) for item in text.split(",") if item]  # noqa: E731
    parser.add_argument("--databases", type=split(str), default=["sqlite", "postgresql"])
    parser.add_argument("--concurrency", type=split(int), default=[1, 8, 32, 64])
    parser.add_argument(
        "--gunicorn",
        type=split(GunicornSettings.parse),
        default=[GunicornSettings(2, 4)],
        help='"4" = 4 sync workers, "2x4" = 2 gthread workers of 4 threads (default 2x4)',
    )
    parser.add_argument("--friends", type=int, default=20_000, help="friends, one token each (default 20,000)")
    parser.add_argument("--seconds", type=float, default=5.0, help="seconds per measurement (default 5)")
    parser.add_argument("--client", choices=("auto", "python", "wrk"), default="auto")
    parser.add_argument(
        "--links", type=split(str), default=["plain"], help='"plain,tag": also a link that tags on click (worker on)'
    )
    parser.add_argument("--drain-seconds", type=float, default=120.0, help="longest wait for the worker's queue")
    args = parser.parse_args(argv)
    if args.client == "auto":
        args.client = "wrk" if wrk.available() else "python"
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; print figures, the goal and the exact commands."""
    args = parse_args(argv)
    print(f"client: {args.client}; {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}", flush=True)
    with tempfile.TemporaryDirectory(prefix="crm-bench-redirect-") as folder:
        rows, commands = run(args, Path(folder))
    print("\n" + "\n".join(summary(rows)))
    print(
        f"\ngoal: >= {GOAL_RATE:.0f} clicks/s, >= {GOAL_FLOOR_RATIO} x the bare 302 floor and p99 <= "
        f"{GOAL_P99_MS:.0f} ms; tag-on-click >= {GOAL_TAG_RATIO} x the plain link. CPU ms/click: gunicorn master "
        "and workers (and the PostgreSQL server: the tests' throwaway cluster, fsync=off; and the CRM worker when "
        "a link tags)."
    )
    print("benchmark: " + shlex.join(["python", "-m", "bench.redirect", *(sys.argv[1:] if argv is None else argv)]))
    print("servers:\n  " + "\n  ".join(commands))
    print(f"load average now {os.getloadavg()[0]:.2f} (other processes on the machine skew rates and latencies)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
