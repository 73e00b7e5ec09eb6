"""Shared helpers of the action engine's tests."""

from __future__ import annotations

from sqlmodel import select

from crm.actions import engine as action_engine
from crm.actions.models import ActionRun
from crm.db import get_engine, session_scope


def run(app, friend_id: int, actions: list[dict], *, trigger_key: str = "test:1", source: str = "test:1", **kwargs):
    """Run actions in one committed transaction; return (kind, state, error) of each new run."""
    with session_scope(get_engine(app)) as session:
        runs = action_engine.run_actions(
            session, friend_id=friend_id, actions=actions, trigger_key=trigger_key, source=source, **kwargs
        )
        return [(r.kind, r.state, r.error) for r in runs]


def runs_of(app, friend_id: int | None = None) -> list[ActionRun]:
    """Every stored run (of one friend), in id order."""
    with session_scope(get_engine(app)) as session:
        query = select(ActionRun).order_by(ActionRun.id)
        if friend_id is not None:
            query = query.where(ActionRun.friend_id == friend_id)
        return list(session.exec(query))
