"""How long a scenario's statistics take for a big scenario (SQLite or PostgreSQL).

Generates friends (bench.generate), enrols every one in a three-step scenario (10% held out, step 2 an A/B test),
writes one send per enrolment and step (1% failed, 5% skipped at step 3), clicks by ~5% of friends, blocks by 2%
and a goal reached by ~7%; prints the median and worst time of `crm.scenarios.stats.statistics` over several runs.

    python -m bench.scenario_stats --database-url sqlite:////tmp/sstats.sqlite3 --friends 100000
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator, Sequence
from datetime import timedelta

from sqlalchemy import select, update

from bench import stats_runner
from bench.bulk import analyze, load_table
from crm.db import session_scope
from crm.friends.models import Friend
from crm.message_templates.models import MessageTemplate
from crm.scenarios import stats as scenario_stats
from crm.scenarios.models import Enrolment, Scenario, ScenarioSend, ScenarioStep, StepVariant
from crm.tracking.models import LinkClick, TrackedLink


def _setup(engine) -> tuple[int, list[int], list[int]]:
    """The scenario, its step ids, and the variant each step sends (step 2: A and B); return their ids."""
    with session_scope(engine) as session:
        template = MessageTemplate(name="bench", messages='[{"type": "text", "text": "hi"}]')
        scenario = Scenario(name="bench", status="active", control_percent=10, goal_tree='{"type": "all"}')
        session.add_all([template, scenario])
        session.flush()
        steps = [ScenarioStep(scenario_id=scenario.id, position=position) for position in (1, 2, 3)]
        session.add_all(steps)
        session.flush()
        labels = [(steps[0], "A"), (steps[1], "A"), (steps[1], "B"), (steps[2], "A")]
        variants = [StepVariant(step_id=step.id, label=label, template_id=template.id) for step, label in labels]
        session.add_all(variants)
        session.flush()
        return scenario.id, [step.id for step in steps], [variant.id for variant in variants]


def _enrolments(friend_ids, scenario_id, started, rng) -> Iterator[tuple]:
    for friend_id in friend_ids:
        goal = started + timedelta(days=rng.random() * 5) if rng.random() < 0.07 else None
        status = rng.choice(("active", "completed", "exited"))
        yield (
            scenario_id,
            friend_id,
            status,
            rng.random() < 0.10,
            f"bench:{friend_id}",
            started,
            goal,
            ("goal" if status == "exited" else None),
            0,  # silent steps
        )


def _sends(enrolments, scenario_id, steps, variants, started, rng) -> Iterator[tuple]:
    for enrolment_id, friend_id, held_out in enrolments:
        for index, step_id in enumerate(steps):
            variant = variants[0] if index == 0 else variants[1 + rng.randrange(2)] if index == 1 else variants[3]
            roll = rng.random()
            state = (
                "held_out"
                if held_out
                else "failed"
                if roll < 0.01
                else "skipped"
                if index == 2 and roll < 0.06
                else "sent"
            )
            sent_at = started + timedelta(days=index) if state == "sent" else None
            yield enrolment_id, scenario_id, step_id, variant, friend_id, state, started, sent_at, started


def load(engine, started) -> int:
    """Write the scenario's rows; return its id."""
    scenario_id, steps, variants = _setup(engine)
    with session_scope(engine) as session:
        friend_ids = list(session.execute(select(Friend.id).order_by(Friend.id)).scalars())
    rng = random.Random(1)
    columns = ("scenario_id", "friend_id", "status", "held_out", "trigger_key", "enrolled_at", "goal_reached_at")
    print(
        load_table(
            engine,
            Enrolment.__table__,
            (*columns, "exit_reason", "silent_steps"),
            _enrolments(friend_ids, scenario_id, started, rng),
        )
    )
    with session_scope(engine) as session:
        query = select(Enrolment.id, Enrolment.friend_id, Enrolment.held_out).where(
            Enrolment.scenario_id == scenario_id
        )
        enrolments = session.execute(query).all()
        links = [
            TrackedLink(destination="https://shop.example.jp/", scenario_variant_id=variant) for variant in variants
        ]
        session.add_all(links)
        session.flush()
        link_ids = [link.id for link in links]
        blocked = [friend_id for friend_id in friend_ids if rng.random() < 0.02]
        session.execute(
            update(Friend)
            .where(Friend.id.in_(blocked))
            .values(status="blocked", blocked_at=started + timedelta(days=2))
        )
    columns = ("enrolment_id", "scenario_id", "step_id", "variant_id", "friend_id", "state", "due_at", "sent_at")
    sends = _sends(enrolments, scenario_id, steps, variants, started, rng)
    print(load_table(engine, ScenarioSend.__table__, (*columns, "created_at"), sends))
    clicks = ((rng.choice(link_ids), f, started + timedelta(hours=5)) for f in friend_ids if rng.random() < 0.05)
    print(load_table(engine, LinkClick.__table__, ("link_id", "friend_id", "clicked_at"), clicks))
    for table in (Enrolment.__table__, ScenarioSend.__table__, LinkClick.__table__, Friend.__table__):
        analyze(engine, table)
    return scenario_id


def measure(engine, scenario_id: int, runs: int) -> list[float]:
    """Seconds per statistics() call."""
    times = []
    for _ in range(runs):
        with session_scope(engine) as session:
            scenario = session.get(Scenario, scenario_id)
            started = time.perf_counter()
            figures = scenario_stats.statistics(session, scenario)
            times.append(time.perf_counter() - started)
    first = figures.steps[0]
    print(f"enrolled={figures.enrolled:,} step 1: reached={first.reached:,} sent={first.sent:,}", end=" ")
    print(f"blocks_7d={first.blocks_7d:,} goal: {figures.goal.treated.reached:,}/{figures.goal.treated.group:,}")
    return times


def main(argv: Sequence[str] | None = None) -> int:
    return stats_runner.run("python -m bench.scenario_stats", __doc__.splitlines()[0], load, measure, runs=5, argv=argv)


if __name__ == "__main__":
    raise SystemExit(main())
