"""The actions tick: run the deferred actions (bulk triggers) and retry failed deferred ones."""

from __future__ import annotations

from datetime import datetime

from flask import Flask
from sqlalchemy.engine import Engine

from crm.actions import engine as action_engine
from crm.db import session_scope
from crm.jobs import Job


def actions_tick(engine: Engine, *, now: datetime | None = None, batch: int = 200, max_batches: int = 20) -> int:
    """Run due pending actions, one transaction per batch; return how many were run."""
    ran = 0
    for _ in range(max_batches):
        with session_scope(engine) as session:
            done = action_engine.run_due(session, now=now, limit=batch)
        ran += done
        if done < batch:
            break
    return ran


def actions(app: Flask, engine: Engine, _line) -> None:
    with app.app_context():  # kinds that queue messages read the app's settings (public URL)
        actions_tick(engine)


JOBS = (Job("actions", seconds=2, tick=actions),)
