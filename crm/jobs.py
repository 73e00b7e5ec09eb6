"""Periodic jobs: each feature lists its own in a `JOBS` table and registers it; the worker schedules them."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from flask import Flask
from sqlalchemy.engine import Engine

from crm.line.client import LineClient

JOBS_KEY = "crm_jobs"


@dataclass(frozen=True)
class Job:
    """One periodic tick: `tick(app, engine, line)` claims what is due and does it, in its own transactions."""

    id: str
    seconds: float
    tick: Callable[[Flask, Engine, LineClient], object]


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
