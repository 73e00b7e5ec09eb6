"""The scenarios tick: decide due steps in batches (one transaction each), and now and then check the goals of
enrolments between their steps."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from flask import Flask
from sqlalchemy.engine import Engine

from crm.db import session_scope
from crm.jobs import Job
from crm.scenarios.exits import check_goals, goal_scenarios
from crm.scenarios.models import Scenario
from crm.scenarios.progress import advance_due
from crm.timeutil import utcnow

BATCH = 1000
TIME_BUDGET = 20.0  # seconds per tick: leave the scheduler's other jobs their turn
GOAL_EVERY = timedelta(minutes=5)
GOALS_CHECKED_KEY = "crm_scenario_goals_checked_at"


def advance_tick(engine: Engine, *, now: datetime | None = None, batch: int = BATCH, budget: float = TIME_BUDGET):
    """Decide due steps, one transaction per batch, until none is due or the time budget is spent."""
    started, decided = time.monotonic(), 0
    while True:
        with session_scope(engine) as session:
            claimed = advance_due(session, now=now or utcnow(), limit=batch)
        decided += claimed
        if claimed < batch or time.monotonic() - started > budget:
            return decided


def goals_tick(engine: Engine, *, now: datetime | None = None) -> int:
    """Record goals reached between steps for every active scenario with a goal, a batch per transaction."""
    now = now or utcnow()
    with session_scope(engine) as session:
        scenario_ids = [scenario.id for scenario in goal_scenarios(session)]
    reached = 0
    for scenario_id in scenario_ids:
        after_id = 0
        while True:
            with session_scope(engine) as session:
                scenario = session.get(Scenario, scenario_id)
                count, after_id = check_goals(session, scenario=scenario, now=now, after_id=after_id)
            reached += count
            if not count:
                break
    return reached


def scenarios(app: Flask, engine: Engine, _line) -> None:
    advance_tick(engine)
    now = utcnow()
    checked = app.extensions.get(GOALS_CHECKED_KEY)
    if checked is None or now - checked >= GOAL_EVERY:
        goals_tick(engine, now=now)
        app.extensions[GOALS_CHECKED_KEY] = now


JOBS = (Job("scenarios", seconds=5, tick=scenarios),)
