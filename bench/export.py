"""Full export at scale: rows/s and peak memory of the streamed CSV and JSON Lines export.

Generates friends with the one generator (bench.generate: ~5 tags each; bench.generate_extras: custom field
values, survey answers with free-text comments, clicks with user agents, notes for 20%), then runs each
format in a child process that streams the export to nowhere and reports rows/s and its peak RSS, sampled
after 10% of the friends and at the end (equal figures = bounded).

    python -m bench.export --friends 1000000 [--sqlite-file /tmp/crm-export.sqlite3] [--postgresql]
    python -m bench.export --database-url URL --only csv      (export an existing database, one format)
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import func, select
from sqlmodel import Session

from bench.generate import generate_friends, generate_tags
from bench.generate_extras import generate_segment_data
from crm import migrate
from crm.db import make_engine
from crm.friends import pages as friend_pages
from crm.friends.models import Friend
from crm.privacy import export
from crm.timeutil import utcnow

NOTE_SHARE, COMMENT_SHARE = 0.2, 0.5
CHUNKS = {"csv": export.csv_chunks, "jsonl": export.jsonl_chunks}


def peak_rss_mb() -> float:
    """This process's peak resident set size so far, in MiB.

    VmHWM, not getrusage's ru_maxrss: Linux carries ru_maxrss across exec, so a child started by the
    generating parent would report the parent's peak.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 1024
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_export(url: str, fmt: str) -> dict:
    """Stream one format to nowhere; count friends, bytes, time and peak RSS."""
    engine = make_engine(url)
    started_rss, size, early_rss = peak_rss_mb(), 0, None
    with Session(engine) as session:
        total = session.exec(select(func.count()).select_from(Friend)).scalar_one()
        started = time.perf_counter()
        for index, chunk in enumerate(CHUNKS[fmt](session, now=utcnow())):
            size += len(chunk.encode())
            if early_rss is None and index * friend_pages.BATCH_SIZE >= total // 10:  # a chunk is a batch
                early_rss = peak_rss_mb()
        seconds = time.perf_counter() - started
    engine.dispose()
    return {
        "format": fmt,
        "friends": total,
        "megabytes": round(size / 1e6, 1),
        "seconds": round(seconds, 1),
        "rows_per_second": round(total / seconds) if seconds else 0,
        "rss_before_mb": round(started_rss),
        "peak_rss_at_10pct_mb": round(early_rss or 0),
        "peak_rss_mb": round(peak_rss_mb()),
    }


def generate(url: str, friends: int) -> None:
    migrate.upgrade(url)
    engine = make_engine(url)
    try:
        print(generate_friends(engine, friends), flush=True)
        print(generate_tags(engine, per_friend=5), flush=True)
        generate_segment_data(engine, note_share=NOTE_SHARE, comment_share=COMMENT_SHARE)
    finally:
        engine.dispose()


def measure(url: str, label: str) -> None:
    """Run each format in a fresh child process (so its peak RSS is the export's alone) and print it."""
    for fmt in CHUNKS:
        out = subprocess.run(
            [sys.executable, "-m", "bench.export", "--database-url", url, "--only", fmt],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        result = json.loads(out.strip().splitlines()[-1])
        print(
            f"{label} {fmt}: {result['friends']:,} friends, {result['megabytes']} MB in {result['seconds']} s "
            f"({result['rows_per_second']:,} friends/s); peak RSS {result['peak_rss_mb']} MB "
            f"(at 10%: {result['peak_rss_at_10pct_mb']} MB, before export: {result['rss_before_mb']} MB)",
            flush=True,
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.export", description=__doc__.splitlines()[0])
    parser.add_argument("--friends", type=int, default=100_000)
    parser.add_argument("--sqlite-file", default="/tmp/crm-export-bench.sqlite3")
    parser.add_argument("--reuse", action="store_true", help="export the existing --sqlite-file, no generation")
    parser.add_argument("--postgresql", action="store_true", help="also on a throwaway PostgreSQL cluster")
    parser.add_argument("--database-url", help=argparse.SUPPRESS)
    parser.add_argument("--only", choices=sorted(CHUNKS), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.only:
        print(json.dumps(run_export(args.database_url, args.only)))
        return 0
    url = f"sqlite:///{args.sqlite_file}"
    if not args.reuse:
        Path(args.sqlite_file).unlink(missing_ok=True)
        generate(url, args.friends)
    measure(url, "SQLite")
    if args.postgresql:
        from tests.pg_cluster import start_cluster

        cluster = start_cluster()
        try:
            cluster.create_database("export_bench")
            generate(cluster.url("export_bench"), args.friends)
            measure(cluster.url("export_bench"), "PostgreSQL")
        finally:
            cluster.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
