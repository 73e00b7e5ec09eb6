"""The click actions tick: run the actions queued by friends' clicks, then fire the link-clicked trigger."""

from __future__ import annotations

from datetime import datetime

from flask import Flask
from sqlalchemy.engine import Engine

from crm.db import session_scope
from crm.jobs import Job
from crm.timeutil import utcnow
from crm.tracking import clicks as link_clicks


def click_actions_tick(engine: Engine, *, batch: int = 500, max_batches: int = 20) -> int:
    """Run the actions queued by clicks, one transaction per batch; return how many clicks were handled."""
    applied = 0
    for _ in range(max_batches):
        with session_scope(engine) as session:
            done = link_clicks.apply_click_actions(session, limit=batch)
        applied += done
        if done < batch:
            break
    return applied


def click_triggers_tick(
    engine: Engine, *, now: datetime | None = None, batch: int = 1000, max_batches: int = 20
) -> int:
    """Fire the link-clicked trigger for clicks stored since the last tick; return how many clicks were read."""
    fired = 0
    for _ in range(max_batches):
        with session_scope(engine) as session:
            done = link_clicks.fire_click_triggers(session, now=now or utcnow(), limit=batch)
        fired += done
        if done < batch:
            break
    return fired


def click_actions(app: Flask, engine: Engine, _line) -> None:
    with app.app_context():  # actions that queue messages read the app's settings (public URL)
        click_actions_tick(engine)
        click_triggers_tick(engine)


JOBS = (Job("click_actions", seconds=2, tick=click_actions),)
