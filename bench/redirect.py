"""Tracked-click redirect under a burst: clicks recorded per second (counted in the database), p50/p99.

Each request is GET /r/<token> of a different friend's token for one broadcast link (tokens cycle when a
run outlasts them), answered 302. Goal: >= 5,000 clicks/s and p99 <= 20 ms on 2 cores.

    python -m bench.redirect [--databases sqlite,postgresql] [--concurrency 1,8,32] [--gunicorn 2x4]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shlex
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import func, select

from bench import wrk
from bench.generate import generate_friends, generate_link_tokens
from bench.loadgen import LoadResult
from bench.servers import Gunicorn, GunicornSettings, fresh_database, process_tree_cpu
from bench.webhook import server_env
from crm import migrate
from crm.db import make_engine
from crm.tracking.models import LinkClick

GOAL_RATE, GOAL_P99_MS = 5000.0, 20.0
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


def measure(server: Gunicorn, db, tokens: list[str], tokens_path: Path, args, label: str) -> list[dict]:
    """Warm up, then one run per concurrency: clicks counted in the database, latency, server CPU."""
    engine, rows = make_engine(db.url), []
    count = lambda: _count(engine)  # noqa: E731
    drive_python(server.port, tokens, 4, 1.0)
    for concurrency in args.concurrency:
        before, cpu_before = count(), _cpu(server, db)
        if args.client == "wrk":
            load = drive_wrk(server.port, tokens_path, concurrency, args.seconds)
        else:
            load = drive_python(server.port, tokens, concurrency, args.seconds)
        cpu, clicks = _cpu(server, db) - cpu_before, count() - before
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
        }
        rows.append(row)
        print(_line(row), flush=True)
    engine.dispose()
    return rows


def _count(engine) -> int:
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(LinkClick.__table__)).scalar_one()


def _cpu(server: Gunicorn, db) -> float:
    return process_tree_cpu(server.process.pid) + process_tree_cpu(db.server_pid)


def _line(row: dict) -> str:
    met = row["clicks_per_s"] >= GOAL_RATE and row["p99_ms"] <= GOAL_P99_MS
    return (
        f"{row['database']:10} {row['gunicorn']:13} c={row['concurrency']:<3} {row['clicks_per_s']:8.0f} "
        f"clicks/s  p50 {row['p50_ms']:6.2f} ms  p99 {row['p99_ms']:6.2f} ms  "
        f"CPU {row['cpu_ms_per_click']:.3f} ms/click (client {row['client_cpu_ms']:.3f})  "
        f"{row['answered']}  {'met' if met else 'below goal'}"
    )


def run(args, folder: Path) -> tuple[list[dict], list[str]]:
    """Each database: friends and their tokens, then each gunicorn setting at each concurrency."""
    rows, commands = [], []
    for database in args.databases:
        with fresh_database(database, folder) as db:
            migrate.upgrade(db.url)
            engine = make_engine(db.url)
            generate_friends(engine, args.friends)
            loaded, tokens = generate_link_tokens(engine)
            engine.dispose()
            print(f"{database}: {loaded}", flush=True)
            tokens_path = folder / f"tokens-{database}.txt"
            tokens_path.write_text("\n".join(tokens) + "\n")
            for settings in args.gunicorn:
                with Gunicorn("app:app", settings, env=server_env(db.url), log_path=folder / "crm.log") as server:
                    commands.append(f"DATABASE_URL={db.url} CRM_ENV=development {shlex.join(server.command())}")
                    rows += measure(server, db, tokens, tokens_path, args, database)
    return rows, commands


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
    print(
        f"\ngoal: >= {GOAL_RATE:.0f} clicks/s and p99 <= {GOAL_P99_MS:.0f} ms. CPU ms/click: gunicorn master "
        "and workers (and the PostgreSQL server: the tests' throwaway cluster, fsync=off)."
    )
    print("benchmark: " + shlex.join(["python", "-m", "bench.redirect", *(sys.argv[1:] if argv is None else argv)]))
    print("servers:\n  " + "\n  ".join(commands))
    print(f"load average now {os.getloadavg()[0]:.2f} (other processes on the machine skew rates and latencies)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
