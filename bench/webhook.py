"""Webhook throughput and latency: the CRM under gunicorn against a bare Flask + line-bot-sdk handler.

Each request is one signed follow event of a new user. For the CRM, throughput counts what the database holds
afterwards (not just 200s): with inline handling (`--handling inline`) the friends, with queued handling (the
default, as in production) the stored, acknowledged events; then the bench waits until the consumers have
handled every event and reports how long after the load the last friend was handled and the handling rate. For
the bare handler, 200s. Goal: ratio >= 0.8, p99 < 50 ms.

    python -m bench.webhook                  (also: make bench)
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select

from bench import wrk
from bench.loadgen import LoadResult, SignedRequest, drive, follow_webhooks
from bench.servers import ROOT, Gunicorn, GunicornSettings, fresh_database, process_tree_cpu
from crm import migrate
from crm.config import SIMULATOR_DEFAULTS, WEBHOOK_HANDLINGS
from crm.db import make_engine
from crm.friends.models import Friend
from crm.webhook.models import WebhookEvent

SECRET = SIMULATOR_DEFAULTS["LINE_CHANNEL_SECRET"]
CRM_APP = "app:app"
BARE_APP = "bench.bare_handler:create_app()"
CLIENTS = {
    "python": "Python threads, one http.client keep-alive connection each, a fixed number of requests",
    "wrk": "wrk -t1 (C) with bench/wrk_follow.lua, keep-alive, a fixed duration",
}
GOAL_RATIO, GOAL_P99_MS = 0.8, 50.0  # issue 18
DRAIN_LIMIT_SECONDS = 300.0  # queued handling: how long to wait for the consumers after the load


@dataclass
class Measurement:
    """One target at one concurrency: the load seen and, for the CRM, friends persisted."""

    target: str
    database: str
    settings: str
    load: LoadResult
    cpu_seconds: float
    persisted: int | None = None
    drain_seconds: float = 0.0  # queued handling: from the end of the load until every event was handled
    drain_cpu_seconds: float = 0.0
    handled: int | None = None  # friends present once every event was handled

    @property
    def handling_rate(self) -> float:
        """Events handled per second, from the start of the load until the last one was handled."""
        seconds = self.load.seconds + self.drain_seconds
        return self.handled / seconds if self.handled is not None and seconds else float("nan")

    @property
    def cpu_ms_per_handled(self) -> float:
        """Server-side CPU of the load and the drain after it, per event handled."""
        total = self.cpu_seconds + self.drain_cpu_seconds
        return total * 1000 / self.handled if self.handled else float("nan")

    @property
    def rate(self) -> float:
        """Persisted friends per second (CRM) or acknowledged events per second (bare)."""
        done = self.load.ok if self.persisted is None else self.persisted
        return done / self.load.seconds if self.load.seconds else 0.0

    @property
    def cpu_ms_per_event(self) -> float:
        """Server-side CPU (gunicorn and, for PostgreSQL, the database server) per answered request."""
        return self.cpu_seconds * 1000 / self.load.ok if self.load.ok else float("nan")

    def as_dict(self) -> dict:
        """JSON-ready figures."""
        return {
            "target": self.target,
            "database": self.database,
            "settings": self.settings,
            "concurrency": self.load.concurrency,
            "seconds": round(self.load.seconds, 3),
            "statuses": self.load.statuses,
            "persisted": self.persisted,
            "rate": round(self.rate, 1),
            "cpu_ms_per_event": round(self.cpu_ms_per_event, 3),
            "drain_seconds": round(self.drain_seconds, 3),
            "handled": self.handled,
            "handling_rate": round(self.handling_rate, 1),
            "cpu_ms_per_handled": round(self.cpu_ms_per_handled, 3),
            "client_cpu_ms": round(self.load.client_cpu_ms, 3),
            **{f"p{p}_ms": round(self.load.percentile(p), 2) for p in (50, 95, 99)},
        }


def server_env(database_url: str | None, handling: str = "inline") -> dict:
    """Environment of the gunicorn processes: development mode, the simulator secret, a database, the webhook
    handling."""
    env = dict(
        os.environ,
        CRM_ENV="development",
        LINE_CHANNEL_SECRET=SECRET,
        SECRET_KEY="bench-secret-key",
        PYTHONDONTWRITEBYTECODE="1",
        WEBHOOK_HANDLING=handling,
    )
    if database_url:
        env["DATABASE_URL"] = database_url
    return env


class RowCounter:
    """Counts rows in a database: the friends (inline handling) or the stored events (queued)."""

    def __init__(self, database_url: str, *, handling: str = "inline"):
        self.engine = make_engine(database_url)
        self.queued = handling == "queued"

    def __call__(self) -> int:
        """Friends (inline) or stored events (queued)."""
        return self._count(WebhookEvent.__table__ if self.queued else Friend.__table__)

    def friends(self) -> int:
        return self._count(Friend.__table__)

    def waiting(self) -> int:
        """Events stored but not yet handled."""
        with self.engine.connect() as connection:
            query = select(func.count()).select_from(WebhookEvent.__table__).where(WebhookEvent.handled_at.is_(None))
            return connection.execute(query).scalar_one()

    def _count(self, table) -> int:
        with self.engine.connect() as connection:
            return connection.execute(select(func.count()).select_from(table)).scalar_one()


def wait_for_handling(counter: RowCounter, *, limit: float = DRAIN_LIMIT_SECONDS) -> float:
    """Poll until no event waits; the seconds it took."""
    started = time.monotonic()
    while counter.waiting() and time.monotonic() - started < limit:
        time.sleep(0.02)
    return time.monotonic() - started


def measure_server(
    server: Gunicorn,
    *,
    target: str,
    database: str,
    args,
    folder: Path,
    count: RowCounter | Callable[[], int] | None,
    db_pid: int | None = None,
    make_requests: Callable[..., list[SignedRequest]] = follow_webhooks,
) -> list[Measurement]:
    """Warm the server up, then measure it at each concurrency (`make_requests(count, secret=, seed=)` builds
    the signed webhooks: follows of new users unless told)."""
    results = []
    for concurrency in args.concurrency:
        label = f"{target}-{database}-{server.settings}-{concurrency}-{time.time_ns()}"
        drive(
            server.port,
            make_requests(args.warmup, secret=SECRET, seed="warm-" + label),
            concurrency,
            max_seconds=args.max_seconds,
        )
        queued = isinstance(count, RowCounter) and count.queued
        if queued:
            wait_for_handling(count)  # the warm-up's events
        before = count() if count else None
        friends_before = count.friends() if queued else None
        cpu_before = _server_cpu(server, db_pid)
        load = _load(server.port, concurrency, args, folder, seed=label, make_requests=make_requests)
        cpu = _server_cpu(server, db_pid) - cpu_before
        persisted = count() - before if count else None
        measurement = Measurement(target, database, str(server.settings), load, cpu, persisted)
        if queued:
            measurement.drain_seconds = wait_for_handling(count)
            measurement.drain_cpu_seconds = _server_cpu(server, db_pid) - cpu_before - cpu
            measurement.handled = count.friends() - friends_before
        results.append(measurement)
        print(
            f"  {target:4} {database:10} {str(server.settings):13} c={concurrency:<3} "
            f"{measurement.rate:8.1f}/s  p99 {load.percentile(99):6.1f} ms  "
            f"CPU {measurement.cpu_ms_per_event:.2f} ms/event (client {load.client_cpu_ms:.2f})  {load.statuses}"
            + (
                f"\n       handled: last {measurement.drain_seconds:.2f} s after the load, "
                f"{measurement.handling_rate:.1f} events/s, {measurement.cpu_ms_per_handled:.2f} ms CPU per event "
                f"(load and drain); load average {os.getloadavg()[0]:.2f}"
                if queued
                else ""
            ),
            flush=True,
        )
    return results


def _load(port: int, concurrency: int, args, folder: Path, *, seed: str, make_requests=follow_webhooks) -> LoadResult:
    """One measured run with the chosen client; bodies are made and signed before it starts."""
    if args.client == "wrk":
        requests = make_requests(max(args.requests, int(args.seconds * 5000)), secret=SECRET, seed=seed)
        return wrk.drive_wrk(port, requests, concurrency, seconds=args.seconds, folder=folder)
    requests = make_requests(args.requests, secret=SECRET, seed=seed)
    return drive(port, requests, concurrency, max_seconds=args.max_seconds)


def _server_cpu(server: Gunicorn, db_pid: int | None) -> float:
    return process_tree_cpu(server.process.pid) + process_tree_cpu(db_pid)


def run(args, folder: Path) -> tuple[list[Measurement], list[str]]:
    """Measure the bare handler, then the CRM on each database, under each gunicorn setting."""
    measurements, commands = [], []
    for settings in args.gunicorn:
        with Gunicorn(BARE_APP, settings, env=server_env(None), log_path=folder / "bare.log") as server:
            commands.append(shlex.join(server.command()))
            measurements += measure_server(server, target="bare", database="-", args=args, folder=folder, count=None)
    for database in args.databases:
        with fresh_database(database, folder) as db:
            migrate.upgrade(db.url)
            count = RowCounter(db.url, handling=args.handling)
            env = server_env(db.url, args.handling)
            for settings in args.gunicorn:
                with Gunicorn(CRM_APP, settings, env=env, log_path=folder / "crm.log") as server:
                    commands.append(
                        f"DATABASE_URL={db.url} CRM_ENV=development WEBHOOK_HANDLING={args.handling} "
                        + shlex.join(server.command())
                    )
                    measurements += measure_server(
                        server,
                        target="crm",
                        database=database,
                        args=args,
                        folder=folder,
                        count=count,
                        db_pid=db.server_pid,
                    )
            count.engine.dispose()
    return measurements, commands


def table(measurements: list[Measurement]) -> str:
    """The figures: CRM persisted/s against bare ack/s, latency percentiles and server CPU per event."""
    bare = {(m.settings, m.load.concurrency): m for m in measurements if m.target == "bare"}
    header = (
        f"{'database':10} {'gunicorn':12} {'conc':>4} {'CRM persisted/s':>15} {'bare ack/s':>10} "
        f"{'ratio':>5}  {'CRM p50/p95/p99 ms':>19}  {'bare p50/p95/p99 ms':>19}  "
        f"{'CPU ms/ev CRM/bare':>18} {'CPU ratio':>9} {'non-200':>7}  goal  "
        f"{'handled/s':>9} {'drain s':>7} {'CPU ms/handled':>14}"
    )
    lines = [header, "-" * len(header)]
    for crm in (m for m in measurements if m.target == "crm"):
        floor = bare[(crm.settings, crm.load.concurrency)]
        ratio = crm.rate / floor.rate if floor.rate else float("nan")
        met = ratio >= GOAL_RATIO and crm.load.percentile(99) < GOAL_P99_MS
        cpu = f"{crm.cpu_ms_per_event:.2f} / {floor.cpu_ms_per_event:.2f}"
        lines.append(
            f"{crm.database:10} {crm.settings:12} {crm.load.concurrency:>4} {crm.rate:>15.1f} "
            f"{floor.rate:>10.1f} {ratio:>5.2f}  {_percentiles(crm.load):>19}  "
            f"{_percentiles(floor.load):>19}  {cpu:>18} {floor.cpu_ms_per_event / crm.cpu_ms_per_event:>9.2f} "
            f"{crm.load.sent - crm.load.ok:>7}  {'met' if met else 'no ':4}  "
            f"{crm.handling_rate:>9.1f} {crm.drain_seconds:>7.2f} {crm.cpu_ms_per_handled:>14.2f}"
        )
    return "\n".join(lines)


def _percentiles(load: LoadResult) -> str:
    return "/".join(f"{load.percentile(p):.1f}" for p in (50, 95, 99))


def parse_args(argv: Sequence[str] | None):
    """Command-line options."""
    parser = argparse.ArgumentParser(prog="python -m bench.webhook", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--databases",
        type=_list(str),
        default=["sqlite", "postgresql"],
        help="comma-separated: sqlite,postgresql (default both)",
    )
    parser.add_argument("--concurrency", type=_list(int), default=[1, 8, 32], help="default 1,8,32")
    parser.add_argument(
        "--handling",
        choices=WEBHOOK_HANDLINGS,
        default="queued",
        help="the CRM's WEBHOOK_HANDLING: queued (default; persisted = stored events, then the drain is timed) "
        "or inline (persisted = friends)",
    )
    parser.add_argument(
        "--gunicorn",
        type=_list(GunicornSettings.parse),
        default=[GunicornSettings(2, 4)],
        help='comma-separated settings: "4" = 4 sync workers, "2x4" = 2 gthread workers of 4 threads (default 2x4)',
    )
    parser.add_argument(
        "--client",
        choices=("auto", "python", "wrk"),
        default="auto",
        help="load generator: wrk if installed (auto, the default), else Python threads",
    )
    parser.add_argument(
        "--requests", type=int, default=3000, help="Python client: requests per measurement (default 3000)"
    )
    parser.add_argument("--seconds", type=float, default=6.0, help="wrk: seconds per measurement (default 6)")
    parser.add_argument("--warmup", type=int, default=300, help="warm-up requests before each (default 300)")
    parser.add_argument(
        "--max-seconds", type=float, default=20.0, help="Python client: time cap per measurement (default 20)"
    )
    parser.add_argument("--json", type=Path, help="also write the figures here (default bench/results/)")
    args = parser.parse_args(argv)
    if args.client == "auto":
        args.client = "wrk" if wrk.available() else "python"
    return args


def _list(kind):
    return lambda text: [kind(item.strip()) for item in text.split(",") if item.strip()]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print the table and the exact commands."""
    args = parse_args(argv)
    started = time.monotonic()
    print(
        f"client: {CLIENTS[args.client]}; {args.warmup} warm-up requests first; "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="crm-bench-") as folder:
        measurements, commands = run(args, Path(folder))
    print("\n" + table(measurements))
    print(
        f"\ngoal: ratio >= {GOAL_RATIO} and CRM p99 < {GOAL_P99_MS:.0f} ms. CPU ms/ev: gunicorn master and "
        "workers (and the PostgreSQL server) during the load, per answered request; CPU ratio = bare/CRM.\n"
        f"handling {args.handling}: CRM persisted = "
        + ("stored, acknowledged events" if args.handling == "queued" else "friends")
        + "; handled/s = friends handled from the start of the load until the last one (queued only), drain s = "
        "seconds after the load until then, CPU ms/handled = server CPU of load and drain per friend handled.\n"
        "PostgreSQL is the tests' throwaway cluster (fsync=off, synchronous_commit=off)."
    )
    print("benchmark: " + shlex.join(["python", "-m", "bench.webhook", *(sys.argv[1:] if argv is None else argv)]))
    print("servers:\n  " + "\n  ".join(commands))
    print(
        f"total {time.monotonic() - started:.0f} s; load average now {os.getloadavg()[0]:.2f} "
        "(other processes on the machine skew rates and latencies; CPU ms/event much less)"
    )
    _write_json(args.json, measurements)
    return 0


def _write_json(path: Path | None, measurements: list[Measurement]) -> None:
    """Keep the figures for later comparison (bench/results/ is ignored by git)."""
    path = path or ROOT / "bench" / "results" / time.strftime("webhook-%Y%m%d-%H%M%S.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps([m.as_dict() for m in measurements], indent=1))
    print(f"figures written to {path}")


if __name__ == "__main__":
    raise SystemExit(main())
