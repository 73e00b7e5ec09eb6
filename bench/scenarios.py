"""Step scenarios at scale through the product's own services, against a zero-latency LINE stand-in: a bulk
segment enrolment, a "day 1 at 10:00" step due for everyone, the time until every message is accepted, and the
cost of finding what is due as enrolments grow.

Friends come from bench.generate, in stages (10k, 100k, then all); after each stage every following friend not
yet enrolled is enrolled by `crm.scenarios.enrolment.enrol_segment` (the bulk segment enrolment), and the due
lookups are timed: the worker's claim of the first 1,000 due enrolments (`progress.claim_due`, rolled back), the
same a minute before anything is due, and the first 1,000 due sends (`delivery_batch.due_query`). Goal: flat.
Then each step is decided for everyone by `crm.scenarios.progress.advance_due` (batches of 1,000, as the worker
does) and sent by the real delivery tick (`delivery_tick`, scenario sends as a delivery source) in separate
sender processes: step 1 plain text (multicast of 500), step 2 with {name} (one push each, stopped after
--push-seconds). Goals: the broadcast engine's rates (bench.send: 200 multicast requests/s, 2,000 push/s).

    python -m bench.scenarios [--database sqlite|postgresql] [--friends 1000000] [--push-seconds 60]
                              [--workers 1] [--no-delivery]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select, text

from bench.generate import generate_friends
from bench.send import GOALS, line_standin, peak_rss_mb
from bench.servers import fresh_database
from crm import migrate
from crm.db import make_engine, session_scope
from crm.message_templates.models import MessageTemplate
from crm.scenarios import delivery_batch
from crm.scenarios.enrolment import enrol_segment
from crm.scenarios.models import (
    Enrolment,
    EnrolmentStatus,
    Scenario,
    ScenarioSend,
    ScenarioStatus,
    ScenarioStep,
    StepVariant,
)
from crm.scenarios.progress import advance_due, claim_due
from crm.timeutil import utcnow

STAGES = (10_000, 100_000)  # friends generated before each enrolment; then everyone
TRIGGER_KEY = "bench:segment"
DECIDE_BATCH = 1000  # the worker's advance_due limit
MESSAGES = {
    "multicast": [{"type": "text", "text": "ご来店ありがとうございました。明日から使えるクーポンをお届けします。"}],
    "push": [{"type": "text", "text": "{name}さん、先日はありがとうございました。"}],
}


def make_scenario(engine) -> tuple[int, dict[str, int]]:
    """An active scenario with two "day N at 10:00" steps (N = 1, 2), one template each; (id, {phase: step id})."""
    with session_scope(engine) as session:
        scenario = Scenario(name="bench", status=ScenarioStatus.ACTIVE)
        session.add(scenario)
        session.flush()
        steps = {}
        for position, phase in enumerate(("multicast", "push"), start=1):
            template = MessageTemplate(name=f"bench {phase}", messages=json.dumps(MESSAGES[phase], ensure_ascii=False))
            step = ScenarioStep(
                scenario_id=scenario.id, position=position, timing_kind="day_at", day_offset=position, at_minute=600
            )
            session.add_all([template, step])
            session.flush()
            session.add(StepVariant(step_id=step.id, template_id=template.id))
            steps[phase] = step.id
        return scenario.id, steps


def next_due(engine) -> datetime:
    """When the earliest planned step is due (the runtime planned it)."""
    with session_scope(engine) as session:
        return session.execute(select(func.min(Enrolment.next_due_at))).scalar()


def median_ms(function, repeat: int = 20) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        times.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(times), 2)


def time_due_lookups(engine, at: datetime) -> dict[str, float]:
    """Median milliseconds of: claiming the first 1,000 due enrolments at `at`, the same a minute earlier (none
    due), and the first 1,000 due sends; each in a transaction rolled back."""

    def claim(now):
        with session_scope(engine) as session:
            claim_due(session, now=now, limit=DECIDE_BATCH)
            session.rollback()

    def due_sends():
        with session_scope(engine) as session:
            session.execute(delivery_batch.due_query(at, DECIDE_BATCH)).all()

    return {
        "claim_due": median_ms(lambda: claim(at)),
        "none_due_yet": median_ms(lambda: claim(at - timedelta(minutes=1))),
        "due_sends": median_ms(due_sends),
    }


def enrol_in_stages(engine, scenario_id: int, friends: int, now: datetime) -> None:
    """Generate friends and enrol them stage by stage, timing the enrolments and the due lookups after each."""
    generated, enrolled, seconds = 0, 0, 0.0
    for upto in (*(stage for stage in STAGES if stage < friends), friends):
        started = time.monotonic()
        generate_friends(engine, upto - generated)
        print(f"friends: {upto:,} generated ({(upto - generated) / (time.monotonic() - started):,.0f}/s)", flush=True)
        generated = upto
        started = time.monotonic()
        with session_scope(engine) as session:
            added = enrol_segment(session, scenario_id=scenario_id, tree=None, now=now, trigger_key=TRIGGER_KEY)
        stage_seconds = time.monotonic() - started
        enrolled, seconds = enrolled + added, seconds + stage_seconds
        print(f"  enrol_segment: {added:,} in {stage_seconds:.1f}s ({added / stage_seconds:,.0f}/s)", flush=True)
        with engine.connect() as connection:
            connection.execute(text("ANALYZE"))
        print(f"  enrolments={enrolled:,}: due lookups, median ms {time_due_lookups(engine, next_due(engine))}")
    print(f"enrolment: {enrolled:,} in {seconds:.1f}s ({enrolled / seconds:,.0f}/s)", flush=True)


def decide(engine, name: str, due: datetime) -> None:
    """Let advance_due decide every enrolment due at `due`, one committed batch after another, as the worker."""
    started, decided = time.monotonic(), 0
    while True:
        with session_scope(engine) as session:
            claimed = advance_due(session, now=due, limit=DECIDE_BATCH)
        decided += claimed
        if not claimed:
            break
    seconds = time.monotonic() - started
    print(f"{name}: step decided for {decided:,} enrolments in {seconds:.1f}s ({decided / seconds:,.0f}/s)", flush=True)


def sender(url: str, api_base: str, step_id: int, *, now: datetime, concurrency: int, send_seconds: float) -> dict:
    """One worker: tick until no send of the step is queued (or send_seconds have passed); report figures."""
    from crm.broadcasts.delivery.jobs import delivery_tick
    from crm.broadcasts.delivery.schedule import DeliverySettings
    from crm.line.client import LineClient
    from crm.scenarios import delivery

    delivery.register()  # what the app's init_app does in the worker
    engine = make_engine(url)
    client = LineClient(api_base=api_base, access_token="bench", timeout=5.0)
    settings = DeliverySettings(concurrency=concurrency, base_url="https://crm.example.jp")
    queued = select(ScenarioSend.id).where(ScenarioSend.step_id == step_id, ScenarioSend.state == "queued").limit(1)
    started, sent = time.monotonic(), 0
    while time.monotonic() - started < send_seconds:
        sent += delivery_tick(engine, client, now=now, settings=settings, max_seconds=1.0).requests_sent
        with session_scope(engine) as session:
            if session.execute(queued).first() is None:
                break
    return {"requests": sent, "seconds": round(time.monotonic() - started, 1), "peak_rss_mb": peak_rss_mb()}


def run_senders(url: str, api_base: str, step_id: int, now: datetime, args, send_seconds: float) -> list[dict]:
    command = [sys.executable, "-m", "bench.scenarios", "--sender", "--database-url", url, "--api-base", api_base]
    command += ["--step-id", str(step_id), "--now", now.isoformat(), "--concurrency", str(args.concurrency)]
    command += ["--send-seconds", str(send_seconds)]
    processes = [subprocess.Popen(command, stdout=subprocess.PIPE, text=True) for _ in range(args.workers)]
    return [json.loads(process.communicate()[0].strip().splitlines()[-1]) for process in processes]


def sent_messages(engine, step_id: int) -> tuple[int, int]:
    """(sends accepted, sends of the step) once the senders stopped."""
    query = select(ScenarioSend.state, func.count()).where(ScenarioSend.step_id == step_id).group_by("state")
    with session_scope(engine) as session:
        rows = dict(session.execute(query).all())
    return rows.get("sent", 0), sum(rows.values())


def deliver(engine, url: str, api_base: str, name: str, step_id: int, due: datetime, args) -> None:
    send_seconds = args.push_seconds if name == "push" else 1e9
    results = run_senders(url, api_base, step_id, due, args, send_seconds)
    seconds = max(result["seconds"] for result in results)
    requests = sum(result["requests"] for result in results)
    sent, total = sent_messages(engine, step_id)
    print(
        f"{name:9s} {sent:,} of {total:,} messages accepted in {seconds}s ({sent / seconds:,.0f} messages/s); "
        f"{requests:,} requests: {requests / seconds:,.0f} req/s (goal {GOALS[name]:,.0f}); "
        f"sender peak RSS {max(r['peak_rss_mb'] for r in results)} MB",
        flush=True,
    )


def active_enrolments(engine) -> int:
    with session_scope(engine) as session:
        query = select(func.count()).where(Enrolment.status == EnrolmentStatus.ACTIVE)
        return session.execute(query).scalar()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scenarios", description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--friends", type=int, default=1_000_000)
    parser.add_argument("--push-seconds", type=float, default=60.0, help="stop the push phase after this long")
    parser.add_argument("--workers", type=int, default=1, help="sender processes (more than 1: PostgreSQL)")
    parser.add_argument("--concurrency", type=int, default=8, help="requests in flight per sender")
    parser.add_argument("--no-delivery", action="store_true", help="enrol and decide only, send nothing")
    parser.add_argument("--sender", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--database-url", help=argparse.SUPPRESS)
    parser.add_argument("--api-base", help=argparse.SUPPRESS)
    parser.add_argument("--step-id", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--now", help=argparse.SUPPRESS)
    parser.add_argument("--send-seconds", type=float, default=1e9, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.sender:
        now = datetime.fromisoformat(args.now)
        figures = sender(
            args.database_url,
            args.api_base,
            args.step_id,
            now=now,
            concurrency=args.concurrency,
            send_seconds=args.send_seconds,
        )
        print(json.dumps(figures), flush=True)
        return 0
    with tempfile.TemporaryDirectory() as folder, fresh_database(args.database, Path(folder)) as database:
        migrate.upgrade(database.url)
        engine = make_engine(database.url)
        with session_scope(engine) as session:  # the account's greeting is not part of this benchmark
            session.execute(text("UPDATE scenario SET status = 'paused' WHERE is_greeting"))
        scenario_id, steps = make_scenario(engine)
        enrol_in_stages(engine, scenario_id, args.friends, utcnow())
        with line_standin() as api_base:
            for name, step_id in steps.items():
                due = next_due(engine)
                decide(engine, name, due)
                if not args.no_delivery:
                    deliver(engine, database.url, api_base, name, step_id, due, args)
        print(
            f"active enrolments left: {active_enrolments(engine):,}; peak RSS (enrolment and decisions): "
            f"{peak_rss_mb()} MB",
            flush=True,
        )
        engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
