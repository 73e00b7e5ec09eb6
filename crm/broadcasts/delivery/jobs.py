"""The delivery tick: start due broadcasts, snapshot recipients, send claimed requests, finish sends.

Each step is its own transaction (commit per snapshot batch, per claim and per chunk of results), so a worker
killed at any moment loses at most an uncommitted step, which the next tick (of any worker) redoes safely.
On PostgreSQL scheduling and snapshot steps take a transaction-level advisory lock: one scheduler at a time,
while any number of workers send.

Registered delivery sources (scenario steps) ride along: each round also prepares one batch of each source's
due sends, and the claims take turns between the broadcasts and each source, so a big broadcast does not hold
up a welcome message, nor a big scenario step a broadcast.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from flask import Flask
from sqlalchemy import text
from sqlalchemy.engine import Engine

from crm.broadcasts.delivery import (
    requests as delivery_requests,
)
from crm.broadcasts.delivery import (
    schedule as delivery_schedule,
)
from crm.broadcasts.delivery import (
    sender as delivery_sender,
)
from crm.broadcasts.delivery import (
    snapshot as delivery_snapshot,
)
from crm.broadcasts.delivery import (
    sources as delivery_sources,
)
from crm.broadcasts.delivery.schedule import DeliverySettings
from crm.broadcasts.models import RequestKind
from crm.db import is_postgresql, session_scope
from crm.jobs import Job
from crm.timeutil import utcnow

log = logging.getLogger(__name__)
SCHEDULER_LOCK_KEY = 0x0B40ADCA57  # pg advisory lock id of the delivery scheduler


@dataclass
class TickStats:
    """What one tick did."""

    started: int = 0
    snapshot_batches: int = 0
    requests_sent: int = 0
    requests_failed: int = 0
    retries: int = 0
    finished: int = 0


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _leader(session) -> bool:
    """One scheduler at a time on PostgreSQL (lock released at commit); SQLite runs one worker anyway."""
    if not is_postgresql(session):
        return True
    return bool(session.execute(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": SCHEDULER_LOCK_KEY}).scalar())


def delivery_tick(
    engine: Engine,
    line_client,
    *,
    now=None,
    worker_id: str | None = None,
    settings: DeliverySettings | None = None,
    max_seconds: float = 60.0,
) -> TickStats:
    """Run the engine until nothing is due (or max_seconds): callable from the worker and from tests.

    `now` (default: the clock) is when due times, missed sends, segments and caps are judged.
    """
    settings, stats, pacer = settings or DeliverySettings(), TickStats(), delivery_sender.Pacer()
    worker_id = worker_id or default_worker_id()
    deadline = time.monotonic() + max_seconds
    _schedule_step(engine, now or utcnow(), settings, stats)
    with ThreadPoolExecutor(max_workers=settings.concurrency, thread_name_prefix="send") as pool:
        turn = 0
        while time.monotonic() < deadline:
            # Requests already snapshotted go out while the next snapshot batch is written (the HTTP threads
            # touch no database); their outcomes are recorded after it.
            in_flight = _start_sending(engine, line_client, pool, settings, turn)
            turn += 1
            worked = _snapshot_step(engine, now or utcnow(), settings, stats)
            worked = _prepare_sources(engine, line_client, now or utcnow(), settings, stats) or worked
            if in_flight:
                _record_sent(engine, in_flight, settings, stats, pacer)
            elif not worked:
                break
    with session_scope(engine) as session:
        stats.finished = len(delivery_schedule.finish_done(session, now=utcnow()))
    if stats.requests_sent or stats.started or stats.finished:
        log.info("delivery_tick worker=%s %s", worker_id, stats)
    return stats


def _schedule_step(engine: Engine, now, settings: DeliverySettings, stats: TickStats) -> None:
    with session_scope(engine) as session:
        if _leader(session):
            started = delivery_schedule.start_due(
                session, now=now, grace=settings.missed_grace, approval_threshold=settings.approval_threshold
            )
            stats.started = len(started)
            delivery_schedule.probe_paused(session, now=utcnow(), every=settings.pause_probe)


def _snapshot_step(engine: Engine, now, settings: DeliverySettings, stats: TickStats) -> bool:
    """Snapshot one batch of each sending broadcast whose snapshot is not complete; True if any was written."""
    worked = False
    with session_scope(engine) as session:
        if not _leader(session):
            return False
        pending = delivery_schedule.snapshotting_ids(session)
    for broadcast_id in pending:
        with session_scope(engine) as session:
            if not _leader(session):
                return worked
            result = delivery_snapshot.snapshot_batch(
                session, broadcast_id=broadcast_id, now=now, batch=settings.snapshot_batch
            )
        if result is not None:
            stats.snapshot_batches += 1
            worked = True
    return worked


def _prepare_sources(engine: Engine, line_client, now, settings: DeliverySettings, stats: TickStats) -> bool:
    """One batch of each registered source's due sends written as requests; True if any was."""
    worked = False
    for source in delivery_sources.registered_sources():
        prepared = source.prepare(engine, line_client, now, settings)
        if prepared:
            stats.snapshot_batches += 1
            worked = True
    return worked


def _start_sending(engine: Engine, line_client, pool, settings: DeliverySettings, turn: int = 0) -> list:
    """Claim one chunk of due requests and start sending it; the started jobs (empty: nothing was due).

    The broadcasts and each source take turns at being asked first."""
    claimers = [_claim, *(_source_claimer(source) for source in delivery_sources.registered_sources())]
    start = turn % len(claimers)
    for claimer in claimers[start:] + claimers[:start]:
        jobs = claimer(engine, settings)
        if jobs:
            return delivery_sender.start_jobs(line_client, jobs, pool)
    return []


def _source_claimer(source: delivery_sources.DeliverySource):
    def claim(engine: Engine, settings: DeliverySettings) -> list[delivery_requests.Job]:
        with session_scope(engine) as session:
            return source.claim(session, utcnow(), settings)

    return claim


def _record_sent(
    engine: Engine, in_flight: list, settings: DeliverySettings, stats: TickStats, pacer: delivery_sender.Pacer
) -> None:
    """Wait for the started jobs and record their outcomes (one transaction), then pace for LINE's 429s."""
    outcomes = delivery_sender.collect(in_flight)
    with session_scope(engine) as session:
        delivery_requests.record(session, outcomes, now=utcnow(), max_attempts=settings.max_attempts)
    results = [outcome.result for outcome in outcomes]
    stats.requests_sent += results.count(delivery_requests.Result.SENT)
    stats.requests_failed += results.count(delivery_requests.Result.FAILED)
    stats.retries += (
        len(results) - results.count(delivery_requests.Result.SENT) - results.count(delivery_requests.Result.FAILED)
    )
    wait = pacer.after(outcomes)
    if wait:
        time.sleep(wait)


def _claim(engine: Engine, settings: DeliverySettings) -> list[delivery_requests.Job]:
    """The next chunk of the first sending broadcast that has due requests (one at a time while probing)."""
    with session_scope(engine) as session:
        for broadcast_id, probing, kind in delivery_schedule.sendable(session):
            limit = 1 if probing else settings.claim_batch
            if kind == RequestKind.MULTICAST:
                limit = min(limit, settings.concurrency * 2)  # ≤ 500 friends each: keep memory small
            jobs = delivery_requests.claim(
                session,
                broadcast_id=broadcast_id,
                now=utcnow(),
                lease=settings.lease,
                limit=limit,
                base_url=settings.base_url,
            )
            if jobs:
                return jobs
    return []


def deliveries(app: Flask, engine: Engine, line) -> None:
    delivery_tick(engine, line, settings=DeliverySettings.from_config(app.config))


JOBS = (Job("delivery", seconds=1, tick=deliveries),)
