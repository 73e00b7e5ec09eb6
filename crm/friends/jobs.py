"""The profile fetch: fill in display names and pictures of new friends."""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import Flask
from sqlalchemy.engine import Engine

from crm.db import session_scope
from crm.friends import service as friends
from crm.jobs import Job
from crm.line.client import LineClient
from crm.line.errors import LineApiError
from crm.timeutil import utcnow

log = logging.getLogger(__name__)


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
            log.warning("profile_fetch_failed friend_id=%s status=%s attempt=%s", friend_id, error.status, attempts + 1)
            profile = None
        with session_scope(engine) as session:
            if profile is None:
                friends.schedule_profile_retry(
                    session, friend_id=friend_id, attempts=attempts, max_attempts=max_attempts
                )
            elif friends.apply_profile(session, friend_id=friend_id, profile=profile):
                stored += 1
    if claimed:
        log.info("profile_fetch claimed=%s stored=%s", len(claimed), stored)
    return stored


def profiles_tick(app: Flask, engine: Engine, line: LineClient) -> None:
    fetch_due_profiles(engine, line, max_attempts=app.config["PROFILE_FETCH_MAX_ATTEMPTS"])


JOBS = (Job("profiles", seconds=2, tick=profiles_tick),)
