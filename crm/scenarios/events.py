"""Scenario events for other features (outbound webhooks): callback(session, kind, enrolment, reason), called in
the transaction that made the change, for every enrolment enrolled, exited, goal_reached or completed one by one.

A bulk enrolment of a segment (enrolment.enrol_segment) tells nobody per friend: it may enrol a million friends.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum

from sqlmodel import Session

from crm.scenarios.models import Enrolment


class ScenarioEvent(StrEnum):
    """The kinds of scenario event."""

    ENROLLED = "enrolled"
    EXITED = "exited"  # reason: an ExitReason
    GOAL_REACHED = "goal_reached"
    COMPLETED = "completed"


Listener = Callable[[Session, str, Enrolment, str | None], None]
_listeners: list[Listener] = []


def on_scenario_event(callback: Listener) -> Listener:
    """Call `callback(session, kind, enrolment, reason)` for every scenario event (registering twice: no effect)."""
    if callback not in _listeners:
        _listeners.append(callback)
    return callback


def emit(session: Session, kind: ScenarioEvent, enrolment: Enrolment, reason: str | None = None) -> None:
    """Tell every listener, in the caller's transaction."""
    for callback in tuple(_listeners):
        callback(session, kind, enrolment, reason)
