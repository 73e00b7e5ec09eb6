"""The action engine: store each action a trigger asks for once (unique per trigger, friend and position), then
run it through its registered kind, at once in the trigger's transaction or later in the worker."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, select

from crm.actions.models import ActionRun, ActionState
from crm.actions.registry import ActionContext, ActionError, ActionKind, kind_of
from crm.errors import N_
from crm.sql import insert_for
from crm.timeutil import utcnow

log = logging.getLogger(__name__)

MAX_ACTIONS = 20
MAX_ATTEMPTS = 5
ERROR_MAX_CHARS = 300
UNKNOWN_KIND = "unknown action kind"
INSERT_CHUNK = 500  # run ids per IN list (well under SQLite's 32,766 parameters)


@dataclass(frozen=True)
class Triggered:
    """One trigger's actions for one friend (run_actions' arguments), for run_actions_many."""

    friend_id: int
    actions: list[dict]
    trigger_key: str
    source: str


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


def run_actions_many(session: Session, triggered: Sequence[Triggered]) -> int:
    """run_actions for many triggers at once (the worker's queues); return how many runs were new.

    The runs are stored by one cached statement (a repeated trigger inserts and runs nothing, as in
    run_actions); runs of a kind with `run_many` (adding a tag) are done together per position, kind,
    parameters and source, in a savepoint (on an error, one by one instead), the others one by one. Positions
    are done in order, so each friend's actions still run in their list's order."""
    now = utcnow()
    rows = [
        _row(item.trigger_key, item.friend_id, position, action, item.source, now)
        for item in triggered
        for position, action in enumerate(item.actions)
    ]
    table = ActionRun.__table__
    statement = (
        insert_for(session, table)
        .on_conflict_do_nothing(index_elements=["trigger_key", "friend_id", "position"])
        .returning(table.c.id)
    )
    new_ids = list(session.connection().execute(statement, rows).scalars()) if rows else []
    groups: dict[tuple, list] = {}
    for start in range(0, len(new_ids), INSERT_CHUNK):
        query = (
            select(table.c.id, table.c.friend_id, table.c.position, table.c.kind, table.c.params, table.c.source)
            .where(table.c.id.in_(new_ids[start : start + INSERT_CHUNK]))
            .order_by(table.c.id)
        )
        for run in session.connection().execute(query):
            groups.setdefault((run.position, run.kind, run.params, run.source), []).append(run)
    for (_position, kind_name, _params, _source), runs in sorted(groups.items(), key=lambda item: item[0][0]):
        kind = kind_of(kind_name)
        if kind is not None and kind.run_many is not None:
            _run_together(session, kind, runs, now)
        else:
            for run in runs:
                execute(session, session.get(ActionRun, run.id), now=now, retry=False)
    return len(new_ids)


def _run_together(session: Session, kind: ActionKind, runs: list, now: datetime) -> None:
    """One action for the runs' friends at once; a friend's first run does it, a repeat finds it done (skipped),
    as one by one. On an error the runs are done one by one, so only the failing friend's run fails."""
    try:
        with session.begin_nested():
            did = set(
                kind.run_many(
                    session, list({run.friend_id: None for run in runs}), json.loads(runs[0].params), runs[0].source
                )
            )
    except Exception as error:  # noqa: BLE001 - one friend's failure must not fail the others
        log.warning("actions_batch_failed kind=%s runs=%s error=%r", kind.kind, len(runs), error)
        for run in runs:
            execute(session, session.get(ActionRun, run.id), now=now, retry=False)
        return
    done = []
    for run in runs:
        if run.friend_id in did:
            done.append(run.id)
            did.discard(run.friend_id)
    _finish_many(session, done, ActionState.DONE, now)
    _finish_many(session, sorted({run.id for run in runs} - set(done)), ActionState.SKIPPED, now)


def _finish_many(session: Session, run_ids: list[int], state: str, now: datetime) -> None:
    table = ActionRun.__table__
    for start in range(0, len(run_ids), INSERT_CHUNK):
        session.connection().execute(
            update(table)
            .where(table.c.id.in_(run_ids[start : start + INSERT_CHUNK]))
            .values(state=state, attempts=table.c.attempts + 1, finished_at=now, next_attempt_at=None, error=None)
        )


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
