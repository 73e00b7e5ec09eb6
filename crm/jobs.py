"""Periodic jobs: each feature lists its own in a `JOBS` table and registers it; the worker schedules them.

Every worker process runs every job. Most ticks claim their rows (FOR UPDATE SKIP LOCKED and a lease), so any
number of workers share them. A job marked `exclusive` must not run in two workers at once (its order matters,
or its rounds plan without claiming): `run_alone` lets one worker of the deployment run it at a time.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from flask import Flask
from sqlalchemy import text
from sqlalchemy.engine import Engine

from crm.line.client import LineClient

JOBS_KEY = "crm_jobs"


@dataclass(frozen=True)
class Job:
    """One periodic tick: `tick(app, engine, line)` claims what is due and does it, in its own transactions.
    `exclusive`: one worker of the deployment runs it at a time; the others skip their turn."""

    id: str
    seconds: float
    tick: Callable[[Flask, Engine, LineClient], object]
    exclusive: bool = False


def register_jobs(app: Flask, jobs: Iterable[Job]) -> None:
    """Add a feature's jobs to the app's schedule (the worker runs them in registration order)."""
    registered = app.extensions.setdefault(JOBS_KEY, [])
    for job in jobs:
        if any(known.id == job.id for known in registered):
            raise ValueError(f"job {job.id!r} is already registered")
        registered.append(job)


def registered_jobs(app: Flask) -> list[Job]:
    """Every job the features registered."""
    return list(app.extensions.get(JOBS_KEY, ()))


def lock_key(job_id: str) -> int:
    """The job's PostgreSQL advisory lock id: a signed 64-bit number derived from its name."""
    return int.from_bytes(hashlib.sha256(f"crm.job:{job_id}".encode()).digest()[:8], "big", signed=True)


@contextmanager
def run_alone(engine: Engine, job_id: str) -> Iterator[bool]:
    """Whether this process may run the job now. On PostgreSQL: a session advisory lock named after the job,
    held on a connection of its own (outside any transaction) until the block ends; a killed worker's lock goes
    with its connection. SQLite runs one worker, which always may."""
    if engine.dialect.name != "postgresql":
        yield True
        return
    key = lock_key(job_id)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        locked = bool(connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}).scalar())
        try:
            yield locked
        finally:
            if locked:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
