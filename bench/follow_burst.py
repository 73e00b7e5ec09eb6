"""A follow burst end to end: how soon new friends have their display name.

N signed follow webhooks of new users at a fixed concurrency against the CRM under gunicorn, while a real worker
process (`python -m crm.worker`) fetches their profiles from the LINE stand-in (answering after --line-latency-ms,
like LINE's round trip). A poller counts friends and named friends every --poll-ms. Figures: follows persisted/s
(all acknowledged follows are stored), names stored/s (from the first follow to the last name), seconds from the
last follow to the last name, and CPU per profile (the worker; PostgreSQL's server CPU is shown apart).
Goal: names/s >= 0.9 x follows/s, and the last name within 5 s of the last follow.

    python -m bench.follow_burst [--databases sqlite,postgresql] [--follows 2000] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from sqlalchemy import func, select

from bench.loadgen import drive, follow_webhooks
from bench.send import line_standin
from bench.servers import ROOT, Gunicorn, GunicornSettings, fresh_database, process_tree_cpu
from bench.webhook import CRM_APP, SECRET, server_env
from crm import migrate
from crm.db import make_engine
from crm.friends.models import Friend

GOAL_RATIO, GOAL_LAG_SECONDS = 0.9, 5.0


@dataclass
class BurstResult:
    """One burst on one database."""

    database: str
    follows: int
    concurrency: int
    follow_seconds: float  # first follow sent .. last follow acknowledged
    name_seconds: float  # first follow sent .. last name stored
    persisted: int
    named: int
    non_200: int
    worker_cpu_seconds: float
    web_cpu_seconds: float
    db_cpu_seconds: float
    load_average: float

    @property
    def follows_per_second(self) -> float:
        return self.persisted / self.follow_seconds if self.follow_seconds else 0.0

    @property
    def names_per_second(self) -> float:
        return self.named / self.name_seconds if self.name_seconds else 0.0

    @property
    def lag_seconds(self) -> float:
        """From the last follow's acknowledgement to the last name stored."""
        return max(self.name_seconds - self.follow_seconds, 0.0)

    @property
    def met(self) -> bool:
        complete = self.named == self.persisted == self.follows
        ratio_met = self.names_per_second >= GOAL_RATIO * self.follows_per_second
        return complete and ratio_met and self.lag_seconds <= GOAL_LAG_SECONDS

    def as_dict(self) -> dict:
        return asdict(self) | {
            "follows_per_second": round(self.follows_per_second, 1),
            "names_per_second": round(self.names_per_second, 1),
            "lag_seconds": round(self.lag_seconds, 2),
            "worker_cpu_ms_per_profile": round(self.worker_cpu_seconds * 1000 / max(self.named, 1), 3),
            "met": self.met,
        }


class PatientGunicorn(Gunicorn):
    """Gunicorn given longer to start: on a loaded shared machine importing the app can take over 30 s."""

    def _wait_ready(self, timeout: float = 120.0) -> None:
        super()._wait_ready(timeout)


class Counts:
    """Friends and named friends in the database."""

    def __init__(self, url: str):
        self.engine = make_engine(url)
        self.query = select(func.count(), func.count(Friend.display_name)).select_from(Friend.__table__)

    def __call__(self) -> tuple[int, int]:
        with self.engine.connect() as connection:
            friends, named = connection.execute(self.query).one()
        return friends, named


class Worker:
    """`python -m crm.worker` as a child process, logging to a file; ready once its scheduler started."""

    def __init__(self, env: dict, log_path: Path):
        self.log_path = log_path
        with open(log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "crm.worker"],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._wait_started()

    def _wait_started(self, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if "worker started" in self.log_path.read_text(errors="replace"):
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"the worker did not start:\n{self.log_path.read_text(errors='replace')[-3000:]}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def wait_until_named(counts: Counts, total: int, *, timeout: float, poll: float) -> float | None:
    """Poll until `total` friends all have a name; return the monotonic time it was first seen (None: timeout)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        friends, named = counts()
        if friends >= total and named >= total:
            return time.monotonic()
        time.sleep(poll)
    return None


def burst(database: str, args, folder: Path, api_base: str) -> BurstResult:
    """Warm up, then send one burst of follows and time the names."""
    with fresh_database(database, folder) as db:
        migrate.upgrade(db.url)
        env = server_env(db.url) | {"LINE_API_BASE": api_base}
        env |= {key: str(value) for key, value in args.worker_env.items()}
        counts = Counts(db.url)
        with PatientGunicorn(CRM_APP, args.gunicorn, env=env, log_path=folder / f"crm-{database}.log") as server:
            worker = Worker(env, folder / f"worker-{database}.log")
            try:
                seed = f"{database}-{time.time_ns()}"
                drive(
                    server.port,
                    follow_webhooks(args.warmup, secret=SECRET, seed="warm-" + seed),
                    args.concurrency,
                    max_seconds=60,
                )
                if wait_until_named(counts, args.warmup, timeout=args.timeout, poll=args.poll_ms / 1000) is None:
                    raise RuntimeError("the warm-up follows never got their names")
                requests = follow_webhooks(args.follows, secret=SECRET, seed=seed)
                cpu_before = _cpus(server, worker, db.server_pid)
                load_average = os.getloadavg()[0]
                started = time.monotonic()
                load = drive(server.port, requests, args.concurrency, max_seconds=args.timeout)
                total = args.warmup + args.follows
                named_at = wait_until_named(counts, total, timeout=args.timeout, poll=args.poll_ms / 1000)
                web, work, dbms = (
                    after - before
                    for after, before in zip(_cpus(server, worker, db.server_pid), cpu_before, strict=True)
                )
                friends, named = counts()
            finally:
                worker.stop()
            if args.backlog:
                drain_backlog(server, counts, env, args, folder / f"worker-{database}-backlog.log", database)
        counts.engine.dispose()
    return BurstResult(
        database=database,
        follows=args.follows,
        concurrency=args.concurrency,
        follow_seconds=load.seconds,
        name_seconds=(named_at or time.monotonic()) - started,
        persisted=friends - args.warmup,
        named=named - args.warmup,
        non_200=load.sent - load.ok,
        worker_cpu_seconds=work,
        web_cpu_seconds=web,
        db_cpu_seconds=dbms,
        load_average=load_average,
    )


def drain_backlog(server: Gunicorn, counts: Counts, env: dict, args, log_path: Path, database: str) -> None:
    """The fetch's capacity apart from the webhook's: --backlog follows stored while no worker runs, then one
    worker names them all; prints names/s (from the worker's start) and the worker's CPU per profile."""
    before, _ = counts()
    requests = follow_webhooks(args.backlog, secret=SECRET, seed=f"backlog-{database}-{time.time_ns()}")
    drive(server.port, requests, args.concurrency, max_seconds=args.timeout)
    worker = Worker(env, log_path)
    try:
        started, cpu_before = time.monotonic(), process_tree_cpu(worker.process.pid)
        named_at = wait_until_named(counts, before + args.backlog, timeout=args.timeout, poll=args.poll_ms / 1000)
        cpu = process_tree_cpu(worker.process.pid) - cpu_before
    finally:
        worker.stop()
    seconds = (named_at or time.monotonic()) - started
    print(
        f"  backlog {database}: {args.backlog} names in {seconds:.2f} s = {args.backlog / seconds:.0f}/s "
        f"(from the worker's start; its first tick after 1 s), worker CPU {cpu * 1000 / args.backlog:.2f} ms/profile, "
        f"load {os.getloadavg()[0]:.2f}" + ("" if named_at else " (TIMED OUT)"),
        flush=True,
    )


def _cpus(server: Gunicorn, worker: Worker, db_pid: int | None) -> tuple[float, float, float]:
    return process_tree_cpu(server.process.pid), process_tree_cpu(worker.process.pid), process_tree_cpu(db_pid)


def table(results: list[BurstResult]) -> str:
    header = (
        f"{'database':10} {'follows':>7} {'conc':>4} {'follows/s':>9} {'names/s':>8} {'ratio':>5} "
        f"{'lag s':>6} {'worker CPU ms/profile':>21} {'web CPU ms/follow':>17} {'db CPU ms/follow':>16} "
        f"{'load':>5}  goal"
    )
    lines = [header, "-" * len(header)]
    for r in results:
        ratio = r.names_per_second / r.follows_per_second if r.follows_per_second else float("nan")
        lines.append(
            f"{r.database:10} {r.follows:>7} {r.concurrency:>4} {r.follows_per_second:>9.1f} "
            f"{r.names_per_second:>8.1f} {ratio:>5.2f} {r.lag_seconds:>6.2f} "
            f"{r.worker_cpu_seconds * 1000 / max(r.named, 1):>21.2f} "
            f"{r.web_cpu_seconds * 1000 / max(r.persisted, 1):>17.2f} "
            f"{r.db_cpu_seconds * 1000 / max(r.persisted, 1):>16.2f} {r.load_average:>5.2f}  "
            f"{'met' if r.met else 'no'}" + ("" if r.named == r.follows else f"  (only {r.named} of {r.follows} named)")
        )
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None):
    parser = argparse.ArgumentParser(prog="python -m bench.follow_burst", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--databases",
        type=lambda text: [x for x in text.split(",") if x],
        default=["sqlite", "postgresql"],
        help="comma-separated: sqlite,postgresql (default both)",
    )
    parser.add_argument("--follows", type=int, default=2000, help="follows in the burst (default 2000)")
    parser.add_argument("--concurrency", type=int, default=8, help="webhook connections (default 8)")
    parser.add_argument("--warmup", type=int, default=200, help="follows (and names) before the burst (default 200)")
    parser.add_argument("--line-latency-ms", type=float, default=20.0, help="the stand-in's answer delay (default 20)")
    parser.add_argument(
        "--gunicorn", type=GunicornSettings.parse, default=GunicornSettings(2, 4), help='"2x4" (default): gthread'
    )
    parser.add_argument(
        "--worker-env",
        type=lambda text: dict(item.split("=", 1) for item in text.split(",") if item),
        default={},
        help="extra worker settings, e.g. PROFILE_FETCH_CONCURRENCY=32",
    )
    parser.add_argument(
        "--backlog",
        type=int,
        default=0,
        help="after the burst, also time one worker naming this many follows stored while it was stopped (default 0)",
    )
    parser.add_argument("--poll-ms", type=float, default=50.0, help="how often names are counted (default 50)")
    parser.add_argument("--timeout", type=float, default=300.0, help="give up after this many seconds (default 300)")
    parser.add_argument("--json", type=Path, help="also write the figures here (default bench/results/)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    print(
        f"{args.follows} follows at {args.concurrency} connections, LINE stand-in latency {args.line_latency_ms} ms; "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    results = []
    with line_standin(args.line_latency_ms) as api_base, tempfile.TemporaryDirectory(prefix="crm-burst-") as folder:
        for database in args.databases:
            results.append(burst(database, args, Path(folder), api_base))
            print(table(results[-1:]).splitlines()[-1], flush=True)
    print("\n" + table(results))
    print(
        f"\ngoal: names/s >= {GOAL_RATIO} x follows/s and lag <= {GOAL_LAG_SECONDS:.0f} s (last follow acknowledged "
        "to last name stored). CPU: the worker process per name; gunicorn per follow; PostgreSQL server per follow "
        "(webhook and worker together; the tests' throwaway cluster, fsync=off)."
    )
    print("benchmark: " + shlex.join(["python", "-m", "bench.follow_burst", *(sys.argv[1:] if argv is None else argv)]))
    print(f"load average now {os.getloadavg()[0]:.2f} (other processes on the machine skew rates; CPU much less)")
    path = args.json or ROOT / "bench" / "results" / time.strftime("follow-burst-%Y%m%d-%H%M%S.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps([r.as_dict() for r in results], indent=1))
    print(f"figures written to {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
