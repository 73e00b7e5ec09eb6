"""Step scenarios at scale against a zero-latency LINE stand-in: a bulk enrolment, a "day 1 at 10:00" step due
for everyone, the time until every message is accepted, and the cost of finding what is due as enrolments grow.

Friends come from bench.generate. Every following friend is enrolled in stages (to 10k, 100k, then all), and
after each stage the due-enrolment query (`scenario_enrolment.next_due_at`, indexed) and the due-send query
(the partial index of unrequested sends) are timed: the goal is a flat cost. Then the step is decided for
everyone (one queued scenario_send each) and the real delivery engine (crm.broadcasts.delivery.jobs.delivery_tick,
which carries scenario sends) runs in separate sender processes until every send is accepted. Two phases: step 1
plain text (multicast of 500), step 2 with {name} (one push each, stopped after --push-seconds).
Goals: the broadcast engine's rates (bench.send: >= 200 multicast requests/s, >= 2,000 push requests/s).

    python -m bench.scenarios [--database sqlite|postgresql] [--friends 1000000] [--push-seconds 60] [--workers 1]
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

from sqlalchemy import String, cast, func, insert, literal, select, text, update

from bench.generate import generate_friends
from bench.send import GOALS, line_standin, peak_rss_mb
from bench.servers import fresh_database
from crm import migrate
from crm.db import make_engine, session_scope
from crm.friends.models import Friend, FriendStatus
from crm.message_templates.models import MessageTemplate
from crm.scenarios import delivery_batch
from crm.scenarios.models import Enrolment, Scenario, ScenarioSend, ScenarioStatus, ScenarioStep, StepVariant
from crm.timeutil import TOKYO, utcnow

STAGES = (10_000, 100_000)  # then everyone
MESSAGES = {
    "multicast": [{"type": "text", "text": "ご来店ありがとうございました。明日から使えるクーポンをお届けします。"}],
    "push": [{"type": "text", "text": "{name}さん、先日はありがとうございました。"}],
}


def day_at(enrolled_at: datetime, days: int, minute: int) -> datetime:
    """Day N after the enrolment day at hh:mm, Asia/Tokyo, in UTC."""
    local = enrolled_at.astimezone(TOKYO).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=days)
    return (local + timedelta(minutes=minute)).astimezone(enrolled_at.tzinfo)


def make_scenario(engine) -> tuple[int, dict[str, tuple[int, int]]]:
    """A manual scenario with two "day N at 10:00" steps; (id, {phase: (step id, variant id)})."""
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
            variant = StepVariant(step_id=step.id, template_id=template.id)
            session.add(variant)
            session.flush()
            steps[phase] = (step.id, variant.id)
        return scenario.id, steps


def enrol_range(engine, scenario_id: int, *, after_id: int, upto_id: int, now: datetime, due: datetime) -> int:
    """Enrol the following friends with after_id < id <= upto_id in one INSERT … SELECT; how many.

    A stand-in for the runtime's bulk segment enrolment (crm.scenarios.enrolment.enrol_segment)."""
    table = Enrolment.__table__
    values = {
        "scenario_id": literal(scenario_id),
        "friend_id": Friend.id,
        "status": literal("active"),
        "held_out": literal(False),
        "trigger_key": literal("bench:") + cast(Friend.id, String),
        "next_position": literal(1),
        "next_due_at": literal(due, table.c.next_due_at.type),
        "silent_steps": literal(0),
        "enrolled_at": literal(now, table.c.enrolled_at.type),
    }
    rows = select(*values.values()).where(
        Friend.status == FriendStatus.FOLLOWING, Friend.id > after_id, Friend.id <= upto_id
    )
    with session_scope(engine) as session:
        return session.execute(insert(table).from_select(list(values), rows)).rowcount


def time_due_queries(engine, *, before: datetime, at: datetime, repeat: int = 20) -> dict[str, float]:
    """Median milliseconds of: the first 1,000 due enrolments at 10:00, none due at 09:59, and the due sends."""
    queries = {
        "due_enrolments": lambda: (
            select(Enrolment.id).where(Enrolment.next_due_at <= at).order_by(Enrolment.next_due_at).limit(1000)
        ),
        "none_due_yet": lambda: select(Enrolment.id).where(Enrolment.next_due_at <= before).limit(1000),
        "due_sends": lambda: delivery_batch.due_query(at, 1000),
    }
    figures = {}
    with session_scope(engine) as session:
        for name, query in queries.items():
            times = []
            for _ in range(repeat):
                started = time.perf_counter()
                session.execute(query()).all()
                times.append((time.perf_counter() - started) * 1000)
            figures[name] = round(statistics.median(times), 2)
    return figures


def decide_step(engine, scenario_id: int, step_id: int, variant_id: int, due: datetime) -> int:
    """Queue the step for every enrolment due at `due` (the runtime's decision, done here in one statement)."""
    table = ScenarioSend.__table__
    values = {
        "enrolment_id": Enrolment.id,
        "scenario_id": Enrolment.scenario_id,
        "step_id": literal(step_id),
        "variant_id": literal(variant_id),
        "friend_id": Enrolment.friend_id,
        "state": literal("queued"),
        "due_at": literal(due, table.c.due_at.type),
        "created_at": literal(utcnow(), table.c.created_at.type),
    }
    rows = select(*values.values()).where(Enrolment.scenario_id == scenario_id, Enrolment.next_due_at <= due)
    with session_scope(engine) as session:
        count = session.execute(insert(table).from_select(list(values), rows)).rowcount
        session.execute(update(Enrolment).values(next_due_at=due + timedelta(days=1)))
    return count


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


def run_senders(url: str, api_base: str, step_id: int, now: datetime, args) -> list[dict]:
    command = [sys.executable, "-m", "bench.scenarios", "--sender", "--database-url", url, "--api-base", api_base]
    command += ["--step-id", str(step_id), "--now", now.isoformat(), "--concurrency", str(args.concurrency)]
    command += ["--send-seconds", str(args.push_seconds if step_id == args.push_step else 1e9)]
    processes = [subprocess.Popen(command, stdout=subprocess.PIPE, text=True) for _ in range(args.workers)]
    return [json.loads(process.communicate()[0].strip().splitlines()[-1]) for process in processes]


def sent_messages(engine, step_id: int) -> tuple[int, int]:
    """(sends accepted, sends of the step) once the senders stopped."""
    with session_scope(engine) as session:
        rows = dict(
            session.execute(
                select(ScenarioSend.state, func.count()).where(ScenarioSend.step_id == step_id).group_by("state")
            ).all()
        )
    return rows.get("sent", 0), sum(rows.values())


def phase(engine, url: str, api_base: str, name: str, scenario_id: int, step: tuple[int, int], due, args) -> None:
    started = time.monotonic()
    decided = decide_step(engine, scenario_id, *step, due)
    print(f"{name}: step decided for {decided:,} enrolments in {time.monotonic() - started:.1f}s", flush=True)
    results = run_senders(url, api_base, step[0], due, args)
    seconds = max(result["seconds"] for result in results)
    requests = sum(result["requests"] for result in results)
    sent, total = sent_messages(engine, step[0])
    print(
        f"{name:9s} {sent:,} of {total:,} messages accepted in {seconds}s ({sent / seconds:,.0f} messages/s); "
        f"{requests:,} requests: {requests / seconds:,.0f} req/s (goal {GOALS[name]:,.0f}); "
        f"sender peak RSS {max(r['peak_rss_mb'] for r in results)} MB",
        flush=True,
    )


def enrol_everyone(engine, scenario_id: int, *, now: datetime, due: datetime) -> None:
    """Enrol in stages, timing the enrolment and the due queries after each stage."""
    with session_scope(engine) as session:
        last_id = session.execute(select(func.max(Friend.id))).scalar() or 0
    after, enrolled, enrol_seconds = 0, 0, 0.0
    for upto in (*(stage for stage in STAGES if stage < last_id), last_id):
        started = time.monotonic()
        enrolled += enrol_range(engine, scenario_id, after_id=after, upto_id=upto, now=now, due=due)
        enrol_seconds += time.monotonic() - started
        with engine.connect() as connection:
            connection.execute(text("ANALYZE"))
        figures = time_due_queries(engine, before=due - timedelta(minutes=1), at=due)
        print(f"enrolments={enrolled:,}: median ms {figures}", flush=True)
        after = upto
    print(f"enrolment: {enrolled:,} in {enrol_seconds:.1f}s ({enrolled / enrol_seconds:,.0f}/s)", flush=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scenarios", description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--friends", type=int, default=1_000_000)
    parser.add_argument("--push-seconds", type=float, default=60.0, help="stop the push phase after this long")
    parser.add_argument("--workers", type=int, default=1, help="sender processes (more than 1: PostgreSQL)")
    parser.add_argument("--concurrency", type=int, default=8, help="requests in flight per sender")
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
        print(generate_friends(engine, args.friends), flush=True)
        now = utcnow()
        scenario_id, steps = make_scenario(engine)
        enrol_everyone(engine, scenario_id, now=now, due=day_at(now, 1, 600))
        args.push_step = steps["push"][0]
        with line_standin() as api_base:
            for position, name in enumerate(("multicast", "push"), start=1):
                phase(engine, database.url, api_base, name, scenario_id, steps[name], day_at(now, position, 600), args)
        engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
