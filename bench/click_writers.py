"""The redirect's click writer without HTTP: P processes of T threads store clicks for S seconds on one SQLite file.

Separates the database side of `bench.redirect` (group commit, two processes sharing SQLite's write lock) from
gunicorn: clicks/s, CPU per click, clicks per commit, and p50/p99 of one click (the slowest process's).
`--busy backoff` lets SQLite's own busy handler wait for the other process's writer (it sleeps 1, 2, 5 … 100 ms
between tries) instead of the committer's 1 ms polling.

    python -m bench.click_writers [--processes 2] [--threads 4] [--seconds 4] [--busy poll|backoff]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from bench.generate import generate_friends, generate_link_tokens
from crm import group_commit, migrate
from crm.db import make_engine
from crm.tracking.click_writer import ClickWriter


def clicking_process(url: str, tokens: list[str], *, number: int, threads: int, seconds: float) -> dict:
    """Store clicks from `threads` threads until `seconds` have passed; this process's figures."""
    engine = make_engine(url)
    writer, latencies, stop = ClickWriter(engine), [], time.monotonic() + seconds

    def click_until_stop(thread: int) -> None:
        sent = (number * 7919 + thread * 1009) % len(tokens)
        while (started := time.monotonic()) < stop:
            writer.click(tokens[sent % len(tokens)], "bench")
            latencies.append(time.monotonic() - started)  # list.append is atomic under the GIL
            sent += 1

    workers = [threading.Thread(target=click_until_stop, args=(index,)) for index in range(threads)]
    cpu = time.process_time()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    latencies.sort()
    return {
        "clicks": len(latencies),
        "cpu": time.process_time() - cpu,
        "commits": group_commit.for_engine(engine).commits,
        "p50": latencies[len(latencies) // 2],
        "p99": latencies[int(len(latencies) * 0.99)],
    }


def measure(url: str, tokens: list[str], *, processes: int, threads: int, seconds: float) -> dict:
    """Fork the clicking processes and sum their figures."""
    reader, writer = os.pipe()
    children = []
    for number in range(processes):
        child = os.fork()
        if child == 0:
            try:
                figures = clicking_process(url, tokens, number=number, threads=threads, seconds=seconds)
                os.write(writer, (json.dumps(figures) + "\n").encode())
            finally:
                os._exit(0)
        children.append(child)
    for child in children:
        os.waitpid(child, 0)
    os.close(writer)
    with os.fdopen(reader) as lines:
        results = [json.loads(line) for line in lines]
    clicks = sum(result["clicks"] for result in results)
    return {
        "clicks_per_s": clicks / seconds,
        "cpu_us": sum(result["cpu"] for result in results) * 1e6 / clicks,
        "per_commit": clicks / max(1, sum(result["commits"] for result in results)),
        "p50_ms": max(result["p50"] for result in results) * 1000,
        "p99_ms": max(result["p99"] for result in results) * 1000,
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Print the figures of one run with the load average."""
    parser = argparse.ArgumentParser(prog="python -m bench.click_writers", description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--friends", type=int, default=20000)
    parser.add_argument("--busy", choices=("poll", "backoff"), default="poll")
    args = parser.parse_args(argv)
    if args.busy == "backoff":  # the committer's connection keeps the engines' 30 s busy timeout
        group_commit._no_busy_timeout = lambda *_args: None
    with tempfile.TemporaryDirectory(prefix="crm-bench-click-writers-") as folder:
        url = f"sqlite:///{Path(folder) / 'bench.sqlite3'}"
        migrate.upgrade(url)
        engine = make_engine(url)
        generate_friends(engine, args.friends)
        _, tokens = generate_link_tokens(engine)
        engine.dispose()
        row = measure(url, tokens, processes=args.processes, threads=args.threads, seconds=args.seconds)
    print(
        f"SQLite {args.processes} processes x {args.threads} threads, busy {args.busy}: "
        f"{row['clicks_per_s']:.0f} clicks/s, {row['cpu_us']:.1f} µs CPU per click, "
        f"{row['per_commit']:.2f} clicks per commit, p50 {row['p50_ms']:.2f} ms, p99 {row['p99_ms']:.2f} ms, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
