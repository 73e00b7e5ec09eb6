"""The RFM tick: recompute the scores when purchases were recorded since the last computation."""

from __future__ import annotations

from datetime import datetime

from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from crm.conversions import rfm
from crm.conversions.models import Conversion
from crm.db import session_scope
from crm.jobs import Job
from crm.timeutil import utcnow


def rfm_tick(engine: Engine, *, now: datetime | None = None, force: bool = False) -> int | None:
    """Recompute RFM scores in one transaction if anything was recorded since (or `force`); return how many
    buyers were scored, None when nothing had changed."""
    with session_scope(engine) as session:
        last = rfm.last_computed(session)
        newest = session.scalar(select(func.max(Conversion.recorded_at)).where(Conversion.value.is_not(None)))
        if not force and (newest is None or (last is not None and newest <= last)):
            return None
        return rfm.recompute(session, now=now or utcnow())


def rfm_scores(_app: Flask, engine: Engine, _line) -> None:
    rfm_tick(engine)


JOBS = (Job("rfm_scores", seconds=900, tick=rfm_scores),)
