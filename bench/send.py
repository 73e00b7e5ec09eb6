"""A big broadcast against a zero-latency LINE stand-in: multicast and push requests/s, and the sender's peak RSS.

Friends come from bench.generate (the one data generator). Each phase schedules one broadcast to every following
friend and runs the real delivery engine (crm.broadcasts.delivery.jobs.delivery_tick) in separate sender processes:
the snapshot first (timed), then sending, timed from the end of the snapshot. Multicast: plain text (groups of
500). Push: a text with {name} (one request per friend), stopped after --push-seconds of sending.
Goals: >= 200 multicast requests/s, >= 2,000 push requests/s, peak RSS <= 300 MB.

    python -m bench.send [--database sqlite|postgresql] [--friends 1000000] [--push-seconds 60] [--workers 1]
        [--sqlite-copy FILE | --postgresql-url URL]   (keep the generated friends for the next run)
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import delete, func, select

import crm.tables  # noqa: F401  (registers every table: Broadcast's foreign keys name others)
from bench.generate import generate_friends
from bench.servers import free_port, fresh_database
from crm import migrate
from crm.broadcasts.models import ACTIVE_STATUSES, Broadcast, BroadcastRecipient, BroadcastStatus, DeliveryRequest
from crm.db import make_engine, session_scope
from crm.friends.models import Friend

GOALS = {"multicast": 200.0, "push": 2000.0}
GOAL_RSS_MB = 300.0
MESSAGES = {
    "multicast": [{"type": "text", "text": "週末セール開催中！"}],
    "push": [{"type": "text", "text": "{name}さん、週末セール開催中！"}],
}


@contextmanager
def line_standin(latency_ms: float = 0.0):
    """The stand-in server as a child process; yields its base URL."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.line_standin", "--port", str(port), "--latency-ms", str(latency_ms)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        process.stdout.readline()  # "listening": ready
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)
        process.stdout.close()


def schedule(url: str, kind: str, friends: int) -> int:
    """Store a broadcast to every following friend, due now (approved for all of them: no recount sends it back)."""
    engine = make_engine(url)
    try:
        with session_scope(engine) as session:
            broadcast = Broadcast(
                name=f"bench {kind}",
                messages=json.dumps(MESSAGES[kind], ensure_ascii=False),
                status=BroadcastStatus.SCHEDULED,
                track_links=False,
                approved_recipients=friends,
            )
            session.add(broadcast)
            session.flush()
            return broadcast.id
    finally:
        engine.dispose()


def run_senders(
    url: str, api_base: str, broadcast_id: int, *, workers: int, concurrency: int, send_seconds: float
) -> list[dict]:
    """Start the sender processes and collect their figures."""
    command = [
        sys.executable,
        "-m",
        "bench.send",
        "--sender",
        "--database-url",
        url,
        "--api-base",
        api_base,
        "--broadcast-id",
        str(broadcast_id),
        "--concurrency",
        str(concurrency),
        "--send-seconds",
        str(send_seconds),
    ]
    processes = [subprocess.Popen(command, stdout=subprocess.PIPE, text=True) for _ in range(workers)]
    results = []
    for process in processes:
        out, _ = process.communicate()
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


def sender(url: str, api_base: str, broadcast_id: int, *, concurrency: int, send_seconds: float) -> dict:
    """One worker: tick until the broadcast is sent (or send_seconds after its snapshot); report figures."""
    from crm.broadcasts.delivery.jobs import delivery_tick
    from crm.broadcasts.delivery.schedule import DeliverySettings
    from crm.line.client import LineClient

    engine = make_engine(url)
    client = LineClient(api_base=api_base, access_token="bench", timeout=5.0)
    settings = DeliverySettings(concurrency=concurrency, base_url="https://crm.example.jp")
    started, snapshot_at, sent_before, sent = time.monotonic(), None, 0, 0
    cpu_started = cpu_seconds()  # imports left out: they are not the send's
    while True:
        sent += delivery_tick(engine, client, settings=settings, max_seconds=1.0).requests_sent
        with session_scope(engine) as session:
            broadcast = session.get(Broadcast, broadcast_id)
            status, done = broadcast.status, broadcast.snapshot_done
        if done and snapshot_at is None:
            snapshot_at, sent_before = time.monotonic(), sent
        if status not in ACTIVE_STATUSES or (snapshot_at and time.monotonic() - snapshot_at > send_seconds):
            break
    ended = time.monotonic()
    return {
        "requests": sent,
        "snapshot_s": round((snapshot_at or ended) - started, 1),
        "send_s": round(ended - (snapshot_at or ended), 1),
        "sent_after_snapshot": sent - sent_before,
        "total_s": round(ended - started, 1),
        "status": status,
        "peak_rss_mb": peak_rss_mb(),
        "cpu_s": round(cpu_seconds() - cpu_started, 2),
    }


def cpu_seconds() -> float:
    """This process's CPU time so far (user + system)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_rss_mb() -> float:
    """This program's peak RSS (VmHWM): ru_maxrss would also count the forking parent's peak (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def report(kind: str, results: list[dict]) -> dict:
    """Aggregate the workers' figures and print them against the goals."""
    total_s = max(r["total_s"] for r in results)
    requests = sum(r["requests"] for r in results)
    overall = requests / total_s
    send_s = max(r["send_s"] for r in results)
    after = sum(r["sent_after_snapshot"] for r in results)
    after_text = f"{after / send_s:,.0f} req/s over {send_s}s" if after and send_s else "n/a (all sent during it)"
    rss = max(r["peak_rss_mb"] for r in results)
    cpu_ms = sum(r["cpu_s"] for r in results) * 1000 / max(requests, 1)
    print(
        f"{kind:9s} requests={requests:,} in {total_s}s: {overall:,.0f} req/s including the snapshot "
        f"({results[0]['snapshot_s']}s); after the snapshot: {after_text}; goal {GOALS[kind]:,.0f} req/s; "
        f"sender CPU {cpu_ms:.2f} ms/request; sender peak RSS {rss} MB (goal {GOAL_RSS_MB:.0f}); "
        f"status={results[0]['status']}; load {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    return {"rate": overall, "rss": rss}


def forget(url: str, broadcast_id: int) -> None:
    """Delete a finished bench broadcast from a kept database (its recipients, requests and itself)."""
    engine = make_engine(url)
    try:
        with session_scope(engine) as session:
            for model in (BroadcastRecipient, DeliveryRequest):
                session.execute(delete(model).where(model.broadcast_id == broadcast_id))
            session.execute(delete(Broadcast).where(Broadcast.id == broadcast_id))
    finally:
        engine.dispose()


def prepare_kept(url: str, friends: int) -> None:
    """A kept database (--postgresql-url): migrated, and the friends generated unless it has them already."""
    migrate.upgrade(url)
    engine = make_engine(url)
    with session_scope(engine) as session:
        present = session.execute(select(func.count()).select_from(Friend)).scalar()
    if present >= friends:
        print(f"{present:,} friends kept in the database", flush=True)
    else:
        print(generate_friends(engine, friends - present), flush=True)
    engine.dispose()


def prepare_friends(url: str, friends: int, copy: Path | None) -> None:
    """Generate the friends, or (SQLite) start from a copy of a database generated by an earlier run."""
    database_file = Path(url.removeprefix("sqlite:///")) if url.startswith("sqlite:///") else None
    if copy is not None and database_file is not None and copy.exists():
        shutil.copyfile(copy, database_file)
        print(f"friends copied from {copy}", flush=True)
        migrate.upgrade(url)  # the copy may predate this code's migrations
        return
    migrate.upgrade(url)
    engine = make_engine(url)
    print(generate_friends(engine, friends), flush=True)
    engine.dispose()
    if copy is not None and database_file is not None:
        shutil.copyfile(database_file, copy)


def run_phases(url: str, args, *, keep: bool) -> None:
    """Each phase's broadcast scheduled and sent against the stand-in; reported (and forgotten when kept)."""
    with line_standin(args.line_latency_ms) as api_base:
        for kind in args.phases.split(","):
            broadcast_id = schedule(url, kind, args.friends)
            seconds = args.push_seconds if kind == "push" else 1e9
            report(
                kind,
                run_senders(
                    url,
                    api_base,
                    broadcast_id,
                    workers=args.workers,
                    concurrency=args.concurrency,
                    send_seconds=seconds,
                ),
            )
            if keep:
                forget(url, broadcast_id)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.send", description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--friends", type=int, default=1_000_000)
    parser.add_argument("--push-seconds", type=float, default=60.0, help="stop the push phase after this long")
    parser.add_argument("--workers", type=int, default=1, help="sender processes (more than 1: PostgreSQL)")
    parser.add_argument("--concurrency", type=int, default=8, help="requests in flight per sender")
    parser.add_argument("--phases", default="multicast,push")
    parser.add_argument(
        "--line-latency-ms",
        type=float,
        default=0.0,
        help="the stand-in answers after this long (0: at once, the benchmark's goal setting)",
    )
    parser.add_argument(
        "--sqlite-copy",
        help="SQLite: copy the generated friends to this file, or start from it if it exists (saves generating)",
    )
    parser.add_argument(
        "--postgresql-url",
        help="PostgreSQL: use (and keep) this database; friends generated into it only when it has fewer",
    )
    parser.add_argument("--sender", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--database-url", help=argparse.SUPPRESS)
    parser.add_argument("--api-base", help=argparse.SUPPRESS)
    parser.add_argument("--broadcast-id", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--send-seconds", type=float, default=1e9, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.sender:
        print(
            json.dumps(
                sender(
                    args.database_url,
                    args.api_base,
                    args.broadcast_id,
                    concurrency=args.concurrency,
                    send_seconds=args.send_seconds,
                )
            ),
            flush=True,
        )
        return 0
    if args.postgresql_url:
        prepare_kept(args.postgresql_url, args.friends)
        run_phases(args.postgresql_url, args, keep=True)
        return 0
    with tempfile.TemporaryDirectory() as folder, fresh_database(args.database, Path(folder)) as database:
        prepare_friends(database.url, args.friends, Path(args.sqlite_copy) if args.sqlite_copy else None)
        run_phases(database.url, args, keep=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
