"""The command line both statistics benchmarks share: generate friends, load a send's rows, time statistics()."""

from __future__ import annotations

import argparse
import statistics as stats_module
from collections.abc import Callable, Sequence
from datetime import timedelta

from bench.generate import generate_friends
from crm import migrate
from crm.db import make_engine
from crm.timeutil import utcnow


def run(
    prog: str,
    description: str,
    load: Callable,
    measure: Callable,
    *,
    runs: int,
    argv: Sequence[str] | None = None,
) -> int:
    """Parse --database-url/--friends/--runs, build the data (load(engine, started_at) -> id), then print the
    median and worst of measure(engine, id, runs) -> [seconds]."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--friends", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=runs)
    args = parser.parse_args(argv)
    migrate.upgrade(args.database_url)
    engine = make_engine(args.database_url)
    try:
        print(generate_friends(engine, args.friends), flush=True)
        row_id = load(engine, utcnow() - timedelta(days=10))
        times = measure(engine, row_id, args.runs)
        print(
            f"statistics() over {args.runs} runs: median {stats_module.median(times) * 1000:.0f} ms, "
            f"worst {max(times) * 1000:.0f} ms ({engine.dialect.name})",
            flush=True,
        )
    finally:
        engine.dispose()
    return 0
