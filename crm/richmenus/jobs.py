"""The rich-menu relink tick: link queued friends to the menu their tags call for."""

from __future__ import annotations

import logging

from flask import Flask
from sqlalchemy.engine import Engine

from crm.db import session_scope
from crm.jobs import Job
from crm.line.client import LineClient
from crm.line.errors import LineApiError
from crm.richmenus import rules as richmenu_rules

log = logging.getLogger(__name__)


def relink_round(engine: Engine, line: LineClient, *, limit: int = richmenu_rules.RELINK_BATCH):
    """One round: plan up to `limit` queued friends, call LINE with no transaction open, record the result.
    LINE errors propagate, leaving the friends queued."""
    with session_scope(engine) as session:
        plan = richmenu_rules.plan_pending(session, limit=limit)
    if plan is None:
        return richmenu_rules.RelinkResult(0, 0, 0)
    richmenu_rules.call_line(line, plan)
    with session_scope(engine) as session:
        return richmenu_rules.record_applied(session, plan)


def apply_rich_menu_relinks(engine: Engine, line: LineClient, *, max_rounds: int = 50) -> int:
    """Link queued friends to the rich menu their tags call for (bulk calls of ≤500); return friends done."""
    done = 0
    for _ in range(max_rounds):
        try:
            result = relink_round(engine, line)
        except LineApiError as error:
            log.warning("richmenu_relink_failed status=%s", error.status)
            break
        if result.friends == 0:
            break
        done += result.friends
    return done


def relinks_tick(_app: Flask, engine: Engine, line: LineClient) -> None:
    apply_rich_menu_relinks(engine, line)


# A round plans from the queue without claiming it: two workers would call LINE with the same entries, and the
# older plan could land last and show a friend the menu their tags no longer call for.
JOBS = (Job("richmenu_relinks", seconds=2, tick=relinks_tick, exclusive=True),)
