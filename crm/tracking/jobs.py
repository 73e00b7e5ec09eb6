"""The click actions tick: add the tags queued by tracked clicks."""

from __future__ import annotations

from flask import Flask
from sqlalchemy.engine import Engine

from crm.db import session_scope
from crm.jobs import Job
from crm.tracking import clicks as link_clicks


def click_actions_tick(engine: Engine, *, batch: int = 500, max_batches: int = 20) -> int:
    """Add the tags queued by clicks, one transaction per batch; return how many were applied."""
    applied = 0
    for _ in range(max_batches):
        with session_scope(engine) as session:
            done = link_clicks.apply_click_actions(session, limit=batch)
        applied += done
        if done < batch:
            break
    return applied


def click_actions(_app: Flask, engine: Engine, _line) -> None:
    click_actions_tick(engine)


JOBS = (Job("click_actions", seconds=2, tick=click_actions),)
