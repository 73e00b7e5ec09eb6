"""A friend's history of automatic actions: the friend page's card, with each run's source in words.

Features name their sources ("survey:3", "link:12", "scenario:4") by registering a describer for the prefix,
so this module names none of them."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, select

from crm.actions.engine import describe_action
from crm.actions.models import ActionRun, ActionState
from crm.db import get_session
from crm.errors import N_
from crm.i18n import translate

FRIEND_PAGE_RUNS = 50
SourceDescriber = Callable[[Session, int], str]
_sources: dict[str, SourceDescriber] = {}
STATE_LABELS = {
    ActionState.PENDING: N_("Waiting"),
    ActionState.DONE: N_("Done"),
    ActionState.SKIPPED: N_("Nothing to do"),
    ActionState.FAILED: N_("Failed"),
}


def register_source(prefix: str, describe: SourceDescriber) -> None:
    """Say sources "<prefix>:<id>" in words with describe(session, id) (registering again replaces it)."""
    _sources[prefix] = describe


def describe_source(session: Session, source: str) -> str:
    """A run's source in words, e.g. 「アンケート「来店アンケート」」; an unregistered one as stored."""
    prefix, _, ref = source.partition(":")
    describe = _sources.get(prefix)
    if describe is None or not ref.isdigit():
        return source
    return describe(session, int(ref))


@dataclass(frozen=True)
class HistoryEntry:
    """One run as the friend page shows it."""

    at: datetime
    what: str
    source: str
    state: str
    state_label: str
    error: str | None


def friend_history(session: Session, friend_id: int, limit: int = FRIEND_PAGE_RUNS) -> list[HistoryEntry]:
    """The friend's action runs, newest first."""
    query = (
        select(ActionRun)
        .where(ActionRun.friend_id == friend_id)
        .order_by(ActionRun.created_at.desc(), ActionRun.id.desc())
        .limit(limit)
    )
    return [_entry(session, run) for run in session.exec(query)]


def _entry(session: Session, run: ActionRun) -> HistoryEntry:
    action = {"type": run.kind, **_params(run.params)}
    return HistoryEntry(
        at=run.finished_at or run.created_at,
        what=describe_action(session, action),
        source=describe_source(session, run.source),
        state=run.state,
        state_label=translate(STATE_LABELS.get(run.state, run.state)),
        error=run.error,
    )


def _params(raw: str) -> dict:
    value = json.loads(raw or "{}")
    return value if isinstance(value, dict) else {}


def friend_page_helpers() -> dict:
    """`friend_action_history(friend_id)` for the friend page's section."""
    return {"friend_action_history": lambda friend_id: friend_history(get_session(), friend_id)}
