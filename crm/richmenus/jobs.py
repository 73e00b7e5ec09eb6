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


def apply_rich_menu_relinks(engine: Engine, line: LineClient, *, max_rounds: int = 50) -> int:
    """Link queued friends to the rich menu their tags call for (bulk calls of ≤500); return friends done."""
    done = 0
    for _ in range(max_rounds):
        try:
            with session_scope(engine) as session:
                result = richmenu_rules.apply_pending(session, client=line)
        except LineApiError as error:
            log.warning("richmenu_relink_failed status=%s", error.status)
            break
        if result.friends == 0:
            break
        done += result.friends
    return done


def relinks_tick(_app: Flask, engine: Engine, line: LineClient) -> None:
    apply_rich_menu_relinks(engine, line)


JOBS = (Job("richmenu_relinks", seconds=2, tick=relinks_tick),)
