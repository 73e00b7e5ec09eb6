"""Segment latency at scale: count and resolve (stream every id) segments of 1, 3 and 6 conditions.

Uses the one generator (bench.generate: friends, ~10 tags each; bench.generate_extras: custom field values,
survey answers and clicks) into an SQLite file and/or a PostgreSQL database, then times crm.segments.service
the way the console (count) and the delivery snapshot (ids, streamed) use it, each run in a fresh session.
Prints p50/p95. Goal: p95 <= 200 ms for a 3-condition count on both databases.

    python -m bench.segment --sqlite-file /tmp/seg.sqlite3 --friends 1000000
    python -m bench.segment --postgresql-url postgresql+psycopg://postgres@127.0.0.1:5432/seg --friends 1000000
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Sequence

from sqlalchemy import select
from sqlmodel import Session

from bench.console import generate, server_pid
from bench.generate_extras import generate_segment_data
from bench.servers import process_tree_cpu
from crm.broadcasts.models import Broadcast
from crm.db import make_engine
from crm.segments import service as segments
from crm.segments import tree as segment_tree
from crm.tags.models import Tag
from crm.timeutil import utcnow
from surveys.models import SurveyChoice, SurveyQuestion

GOAL_MS = 200.0
STREAM_ROWS = 10_000


def bench_segments(session: Session) -> list[tuple[str, dict]]:
    """(label, tree) of the measured segments, with tags picked by popularity from the generated data."""
    tags = session.exec(select(Tag.id).order_by(Tag.friend_count.desc())).scalars().all()
    common, mid, rare = tags[0], tags[len(tags) // 3], tags[-4]
    question = session.exec(select(SurveyQuestion.id).order_by(SurveyQuestion.id)).scalars().first()
    choice = (
        session.exec(select(SurveyChoice.id).where(SurveyChoice.question_id == question).order_by(SurveyChoice.id))
        .scalars()
        .first()
    )
    first, second = session.exec(select(Broadcast.id).order_by(Broadcast.id).limit(2)).scalars().all()
    tag = lambda tag_id: {"type": "tag", "tag_id": tag_id}  # noqa: E731
    gold = {"type": "field", "key": "bench_plan", "op": "eq", "value": "gold"}
    older = {"type": "field", "key": "bench_age", "op": "gt", "value": "40"}
    answered = {"type": "answer", "question_id": question, "choice_id": choice}
    recent = {"type": "interaction", "op": "newer", "days": 90}
    clicked = {
        "type": "any",
        "conditions": [
            {"type": "clicked_broadcast", "broadcast_id": first},
            {"type": "clicked_broadcast", "broadcast_id": second},
        ],
    }
    return [
        ("1: tag (mid)", tag(mid)),
        ("1: tag (rare)", tag(rare)),
        ("1: field number > 40", older),
        ("3: tag + field + interaction", {"type": "all", "conditions": [tag(mid), gold, recent]}),
        (
            "3: tag + answer + not tag",
            {"type": "all", "conditions": [tag(mid), answered, {"type": "not", "condition": tag(common)}]},
        ),
        (
            "3: any of tag, answer, click",
            {"type": "any", "conditions": [tag(rare), answered, clicked["conditions"][0]]},
        ),
        (
            "6: tags, fields, answer, clicks",
            {
                "type": "all",
                "conditions": [tag(mid), {"type": "not", "condition": tag(common)}, older, answered, clicked],
            },
        ),
    ]


def timed(engine, work, repeat: int, pid: int | None) -> tuple[dict, object]:
    """p50/p95/max of work(session) in fresh sessions, after one warm-up run, and the CPU per run (this
    process and the PostgreSQL server's: unlike wall-clock time it does not grow when others share the
    machine); and the last result."""
    with Session(engine) as session:
        result = work(session)
    times = []
    cpu_started = time.process_time() + process_tree_cpu(pid)
    for _ in range(repeat):
        with Session(engine) as session:
            started = time.perf_counter()
            result = work(session)
            times.append((time.perf_counter() - started) * 1000)
    cpu = (time.process_time() + process_tree_cpu(pid) - cpu_started) * 1000 / repeat
    times.sort()
    return {
        "p50": statistics.median(times),
        "p95": times[max(0, round(0.95 * len(times)) - 1)],
        "max": times[-1],
        "cpu": cpu,
    }, result


def resolve(session: Session, tree: dict) -> int:
    """Stream every recipient id as the delivery snapshot does; return how many."""
    query = segments.recipient_ids(session, tree, now=utcnow()).execution_options(yield_per=STREAM_ROWS)
    return sum(1 for _ in session.execute(query).scalars())


def measure(url: str, repeat: int, resolve_repeat: int, only: str = "") -> None:
    """Print count and resolve (unless resolve_repeat is 0) figures for the bench segments whose label starts
    with `only` (default: every one) on this database."""
    engine = make_engine(url)
    pid = server_pid(engine)
    print(f"  load average before: {os.getloadavg()[0]:.1f}", flush=True)
    try:
        with Session(engine) as session:
            cases = bench_segments(session)
            trees = [(label, segment_tree.validate(session, tree)) for label, tree in cases if label.startswith(only)]
        for label, tree in trees:
            counted, n = timed(engine, lambda s, tree=tree: segments.count(s, tree, now=utcnow()), repeat, pid)
            resolved = ""
            if resolve_repeat:
                figures, m = timed(engine, lambda s, tree=tree: resolve(s, tree), resolve_repeat, pid)
                assert n == m, (label, n, m)
                resolved = f"  resolve p50 {figures['p50']:6.0f} p95 {figures['p95']:6.0f} CPU {figures['cpu']:6.0f} ms"
            mark = (
                ""
                if not label.startswith("3")
                else (
                    f"  goal: wall {'ok' if counted['p95'] <= GOAL_MS else 'missed'}, CPU "
                    f"{'ok' if counted['cpu'] <= GOAL_MS else 'missed'}"
                )
            )
            print(
                f"  {label:32s} {n:>8,} friends  count p50 {counted['p50']:6.0f} p95 {counted['p95']:6.0f}"
                f" CPU {counted['cpu']:6.0f} ms{resolved}{mark}",
                flush=True,
            )
        print(f"  load average after: {os.getloadavg()[0]:.1f}", flush=True)
    finally:
        engine.dispose()


def prepare(url: str, friends: int, tags_per_friend: float) -> None:
    """Migrate and generate (friends, tags, field values, answers, clicks) unless the database has friends."""
    generate(
        url,
        friends,
        tags_per_friend,
        extras=lambda engine: generate_segment_data(engine, report=lambda result: print(f"  {result}", flush=True)),
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.segment", description=__doc__.splitlines()[0])
    parser.add_argument("--sqlite-file", help="SQLite file to generate into (or reuse)")
    parser.add_argument("--postgresql-url", help="PostgreSQL database to generate into (or reuse)")
    parser.add_argument("--friends", type=int, default=1_000_000)
    parser.add_argument("--tags-per-friend", type=float, default=10)
    parser.add_argument("--repeat", type=int, default=20, help="timed counts per segment (default 20)")
    parser.add_argument(
        "--resolve-repeat", type=int, default=5, help="timed resolves per segment (default 5; 0: counts only)"
    )
    parser.add_argument("--only", default="", help='only the segments whose label starts with this, e.g. "3"')
    args = parser.parse_args(argv)
    for name, url in (
        ("SQLite", args.sqlite_file and f"sqlite:///{args.sqlite_file}"),
        ("PostgreSQL", args.postgresql_url),
    ):
        if url:
            print(f"{name}:", flush=True)
            prepare(url, args.friends, args.tags_per_friend)
            measure(url, args.repeat, args.resolve_repeat, args.only)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
