"""Shared helpers of the scenario runtime tests."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import select

from crm.db import get_engine, session_scope
from crm.scenarios.models import Enrolment, ScenarioSend

NOW = datetime(2026, 5, 10, 1, 0, tzinfo=UTC)  # 10:00 in Tokyo


def enrolments(app, **where) -> list[Enrolment]:
    """Every enrolment (optionally filtered by column values), in id order."""
    with session_scope(get_engine(app)) as session:
        query = select(Enrolment).order_by(Enrolment.id)
        for column, value in where.items():
            query = query.where(getattr(Enrolment, column) == value)
        return list(session.exec(query))


def sends(app, **where) -> list[ScenarioSend]:
    """Every scenario send (optionally filtered by column values), in id order."""
    with session_scope(get_engine(app)) as session:
        query = select(ScenarioSend).order_by(ScenarioSend.id)
        for column, value in where.items():
            query = query.where(getattr(ScenarioSend, column) == value)
        return list(session.exec(query))


def run(app, function, **kwargs):
    """Call a service function in its own committed transaction."""
    with session_scope(get_engine(app)) as session:
        result = function(session, **kwargs)
        return result.id if hasattr(result, "id") else result
