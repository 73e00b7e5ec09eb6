"""Scenario runtime at scale: a bulk enrolment of every following friend (time and rate), the cost of finding due
enrolments as their number grows (goal: flat), and deciding one "day 1 at 10:00" step for all of them.

Friends come from the one generator (bench.generate). Delivery (requests to LINE) is measured elsewhere.

    python -m bench.scenario_enrol --database-url sqlite:////tmp/scn.sqlite3 --friends 1000000
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlmodel import Session, func, select

from bench.generate import generate_friends
from crm import migrate
from crm.db import make_engine
from crm.scenarios.enrolment import enrol_segment
from crm.scenarios.models import Enrolment, Scenario, ScenarioSend, ScenarioStep
from crm.scenarios.progress import advance_due, claim_due

NOW = datetime(2026, 5, 10, 3, 0, tzinfo=UTC)  # 12:00 in Tokyo


def timed(label: str, function, count_of=None):
    started = time.perf_counter()
    result = function()
    seconds = time.perf_counter() - started
    count = count_of(result) if count_of else result
    print(f"{label}: {count:,} in {seconds:.2f} s ({count / seconds:,.0f}/s)" if count else f"{label}: {seconds:.3f} s")
    return result


def make_scenario(engine) -> int:
    with Session(engine) as session:
        scenario = Scenario(name=f"bench {time.time()}", status="active")
        session.add(scenario)
        session.flush()
        day_1_at_10 = ScenarioStep(scenario_id=scenario.id, position=1, timing_kind="day_at", day_offset=1)
        day_1_at_10.at_minute = 600
        session.add(day_1_at_10)
        session.commit()
        return scenario.id


def find_due_cost(engine, repeats: int = 20) -> float:
    """Median seconds to claim 1,000 due enrolments (rolled back: nothing changes)."""
    times = []
    for _ in range(repeats):
        with Session(engine) as session:
            started = time.perf_counter()
            claim_due(session, now=NOW + timedelta(days=2), limit=1000)
            times.append(time.perf_counter() - started)
            session.rollback()
    return sorted(times)[len(times) // 2]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scenario_enrol", description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--friends", type=int, default=100_000)
    parser.add_argument("--decide", type=int, default=100_000, help="due steps to decide (default 100,000)")
    args = parser.parse_args(argv)
    migrate.upgrade(args.database_url)
    engine = make_engine(args.database_url)
    with Session(engine) as session:
        have = session.exec(select(func.count()).select_from(Enrolment)).one()
    timed("friends generated", lambda: generate_friends(engine, args.friends), lambda r: args.friends)
    scenario_id = make_scenario(engine)

    def enrol():
        with Session(engine) as session:
            count = enrol_segment(session, scenario_id=scenario_id, tree=None, now=NOW, trigger_key="bench")
            session.commit()
            return count

    enrolled = timed("bulk enrolment", enrol)
    print(f"due lookup of 1,000 among {have + enrolled:,} enrolments: {find_due_cost(engine) * 1000:.1f} ms")

    def decide():
        done = 0
        while done < args.decide:
            with Session(engine) as session:
                claimed = advance_due(session, now=NOW + timedelta(days=2), limit=1000)
                session.commit()
            done += claimed
            if not claimed:
                break
        return done

    timed("steps decided", decide)
    with Session(engine) as session:
        print("sends:", session.exec(select(func.count()).select_from(ScenarioSend)).one())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
