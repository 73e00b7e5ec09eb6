"""Stateless tick jobs run by the worker process; each can be called directly from tests."""
from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy.engine import Engine

from crm.db import session_scope
from crm.delivery_jobs import delivery_tick  # noqa: F401  (broadcasts: re-exported for the worker and tests)
from crm.line.client import LineApiError, LineClient
from crm.services import friends, richmenu_rules
from crm.timeutil import utcnow

log = logging.getLogger("crm.jobs")
PROFILE_LEASE = timedelta(minutes=2)


def fetch_due_profiles(engine: Engine, line: LineClient, *, max_attempts: int = 8, batch: int = 50) -> int:
    """Fetch the profiles that are due; return how many were stored. Failures are retried later."""
    with session_scope(engine) as session:
        claimed = friends.claim_due_profile_fetches(session, now=utcnow(), lease=PROFILE_LEASE, limit=batch)
    stored = 0
    for friend_id, line_user_id, attempts in claimed:
        try:
            profile = line.get_profile(line_user_id)
        except LineApiError as error:
            log.warning("profile_fetch_failed friend_id=%s status=%s attempt=%s",
                        friend_id, error.status, attempts + 1)
            profile = None
        with session_scope(engine) as session:
            if profile is None:
                friends.schedule_profile_retry(session, friend_id=friend_id, attempts=attempts,
                                               max_attempts=max_attempts)
            else:
                friends.apply_profile(session, friend_id=friend_id, profile=profile)
                stored += 1
    if claimed:
        log.info("profile_fetch claimed=%s stored=%s", len(claimed), stored)
    return stored


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
