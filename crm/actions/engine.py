"""The action engine: store each action a trigger asks for once (unique per trigger, friend and position), then
run it through its registered kind, at once in the trigger's transaction or later in the worker."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta

from sqlmodel import Session, select

from crm.actions.models import ActionRun, ActionState
from crm.actions.registry import ActionContext, ActionError, kind_of
from crm.errors import N_
from crm.sql import insert_for
from crm.timeutil import utcnow

log = logging.getLogger(__name__)

MAX_ACTIONS = 20
MAX_ATTEMPTS = 5
ERROR_MAX_CHARS = 300
UNKNOWN_KIND = "unknown action kind"


def run_actions(
    session: Session,
    *,
    friend_id: int,
    actions: list[dict],
    trigger_key: str,
    source: str,
    reply_token: str | None = None,
    defer: bool = False,
) -> list[ActionRun]:
    """Record the trigger's actions for a friend and run those not recorded before; return the new runs.

    A repeated trigger (same key) inserts nothing and runs nothing, even from two transactions at once. With
    `defer` the runs stay pending for the worker's `actions` job (bulk triggers)."""
    if not actions:
        return []
    now = utcnow()
    rows = [_row(trigger_key, friend_id, position, action, source, now) for position, action in enumerate(actions)]
    table = ActionRun.__table__
    statement = (
        insert_for(session, table)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["trigger_key", "friend_id", "position"])
        .returning(table.c.id)
    )
    new_ids = list(session.connection().execute(statement).scalars())
    if not new_ids:
        return []
    runs = list(session.exec(select(ActionRun).where(ActionRun.id.in_(new_ids)).order_by(ActionRun.position)))
    if not defer:
        for run in runs:
            execute(session, run, reply_token=reply_token, now=now, retry=False)
    return runs


def _row(trigger_key: str, friend_id: int, position: int, action: dict, source: str, now: datetime) -> dict:
    params = {key: value for key, value in action.items() if key != "type"}
    return {
        "trigger_key": trigger_key[:120],
        "friend_id": friend_id,
        "position": position,
        "kind": str(action.get("type") or "")[:30],
        "params": json.dumps(params, ensure_ascii=False, sort_keys=True),
        "source": source[:60],
        "state": ActionState.PENDING,
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }


def execute(
    session: Session, run: ActionRun, *, reply_token: str | None = None, now: datetime | None = None, retry: bool
) -> str:
    """Run one pending action inside a savepoint and record its outcome; return its new state.

    An exception rolls back the action's own writes only: the run is failed (or, with `retry`, pending again
    after a backoff until MAX_ATTEMPTS)."""
    now = now or utcnow()
    kind = kind_of(run.kind)
    run.attempts += 1
    if kind is None:
        return _finish(run, ActionState.SKIPPED, now, error=UNKNOWN_KIND)
    context = ActionContext(
        session=session,
        friend_id=run.friend_id,
        params=json.loads(run.params),
        trigger_key=run.trigger_key,
        source=run.source,
        run_id=run.id,
        reply_token=reply_token,
    )
    try:
        with session.begin_nested():
            did = kind.run(context)
    except Exception as error:  # noqa: BLE001 - one action's failure must not stop the others
        log.warning("action_failed run_id=%s kind=%s attempt=%s error=%r", run.id, run.kind, run.attempts, error)
        if retry and run.attempts < MAX_ATTEMPTS:
            run.next_attempt_at, run.error = now + backoff(run.attempts), str(error)[:ERROR_MAX_CHARS]
            return ActionState.PENDING
        return _finish(run, ActionState.FAILED, now, error=str(error) or type(error).__name__)
    return _finish(run, ActionState.DONE if did is not False else ActionState.SKIPPED, now)


def _finish(run: ActionRun, state: str, now: datetime, *, error: str | None = None) -> str:
    run.state, run.finished_at, run.next_attempt_at = state, now, None
    run.error = error[:ERROR_MAX_CHARS] if error else None
    return state


def backoff(attempts: int) -> timedelta:
    """The wait before retrying a failed deferred action: 30 s, 1 min, 2 min, 4 min, … at most an hour."""
    return timedelta(seconds=min(30 * 2 ** (attempts - 1), 3600))


def run_due(session: Session, *, now: datetime | None = None, limit: int = 200) -> int:
    """Claim pending runs that are due (FOR UPDATE SKIP LOCKED on PostgreSQL, so workers share them) and run
    them in this transaction; return how many were run."""
    now = now or utcnow()
    query = (
        select(ActionRun)
        .where(ActionRun.state == ActionState.PENDING, ActionRun.next_attempt_at <= now)
        .order_by(ActionRun.next_attempt_at, ActionRun.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    runs = list(session.exec(query))
    for run in runs:
        execute(session, run, now=now, retry=True)
    return len(runs)


def validate_actions(session: Session, raw) -> list[dict]:
    """Check a list of actions from a form or the API and return it normalised (each `{"type": kind, ...}`).

    Raises ActionError naming the (1-based) position at fault."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise _invalid(N_("Actions must be a list."))
    if len(raw) > MAX_ACTIONS:
        raise _invalid(N_("At most %(limit)s actions."), limit=MAX_ACTIONS)
    return [_validate_one(session, position, action) for position, action in enumerate(raw, start=1)]


def _validate_one(session: Session, position: int, action) -> dict:
    kind = kind_of(action.get("type")) if isinstance(action, dict) else None
    if kind is None:
        raise _invalid(N_("Action %(position)s: choose what it does."), position=position)
    params = {key: value for key, value in action.items() if key != "type"}
    try:
        return {"type": kind.kind, **kind.validate(session, params)}
    except ActionError as error:
        raise _invalid(N_("Action %(position)s: %(problem)s"), position=position, problem=error) from None


def _invalid(msgid: str, **params) -> ActionError:
    error = ActionError(msgid, **params)
    error.field = "actions"
    return error


def describe_actions(session: Session, actions: list[dict]) -> list[str]:
    """Each action in the console's language (the caller's request locale)."""
    return [describe_action(session, action) for action in actions]


def describe_action(session: Session, action: dict) -> str:
    """One action in words; an unknown kind is named as stored."""
    kind = kind_of(action.get("type"))
    if kind is None:
        return str(action.get("type"))
    return kind.describe(session, {key: value for key, value in action.items() if key != "type"})
