"""The profile fetch: fill in display names and pictures of new friends.

A tick runs until no fetch is due (or max_seconds): it claims a batch, fetches its profiles from a bounded pool of
threads (paced under LINE's rate limit by the LINE client), and stores the answers in one transaction per batch.
While a batch is stored the next one is already being fetched; the HTTP threads touch no database, and no thread
calls LINE with a transaction open. A failed or 404 fetch is retried later with backoff.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import timedelta

from flask import Flask
from sqlalchemy.engine import Engine

from crm.db import session_scope
from crm.friends import service as friends
from crm.jobs import Job
from crm.line.client import LineClient
from crm.line.errors import LineApiError
from crm.line.profile import Profile
from crm.timeutil import utcnow

log = logging.getLogger(__name__)


PROFILE_LEASE = timedelta(minutes=2)

Claimed = tuple[int, str, int]  # friend id, LINE user id, attempts so far


def fetch_due_profiles(
    engine: Engine,
    line: LineClient,
    *,
    max_attempts: int = 8,
    batch: int = 100,
    concurrency: int = 16,
    max_seconds: float = 60.0,
) -> int:
    """Fetch the profiles that are due until none is (or max_seconds); return how many were stored. Failures
    are retried later."""
    deadline = time.monotonic() + max_seconds
    stored = claimed_total = 0
    in_flight: list[tuple[Claimed, Future]] = []
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="profile") as pool:
        while True:
            claimed = _claim(engine, batch) if time.monotonic() < deadline else []
            submitted = [(row, pool.submit(_fetch, line, row)) for row in claimed]
            if not claimed and not in_flight:
                break
            if in_flight:
                stored += _store(engine, in_flight, max_attempts=max_attempts)
            in_flight, claimed_total = submitted, claimed_total + len(claimed)
    if claimed_total:
        log.info("profile_fetch claimed=%s stored=%s", claimed_total, stored)
    return stored


def _claim(engine: Engine, batch: int) -> list[Claimed]:
    with session_scope(engine) as session:
        return friends.claim_due_profile_fetches(session, now=utcnow(), lease=PROFILE_LEASE, limit=batch)


def _fetch(line: LineClient, row: Claimed) -> Profile | None:
    """One friend's profile, or None when LINE has none for them (404) or the fetch failed (logged)."""
    friend_id, line_user_id, attempts = row
    try:
        return line.get_profile(line_user_id)
    except LineApiError as error:
        log.warning("profile_fetch_failed friend_id=%s status=%s attempt=%s", friend_id, error.status, attempts + 1)
    except Exception:  # noqa: BLE001 - an odd answer fails this friend's fetch, not the batch's
        log.exception("profile_fetch_failed friend_id=%s attempt=%s", friend_id, attempts + 1)
    return None


def _store(engine: Engine, fetched: list[tuple[Claimed, Future]], *, max_attempts: int) -> int:
    """Store a batch's answers in one transaction (once every fetch of it ended); return how many profiles."""
    answers = [(row, future.result()) for row, future in fetched]
    profiles = {friend_id: profile for (friend_id, _user_id, _attempts), profile in answers if profile is not None}
    with session_scope(engine) as session:
        stored = friends.apply_profiles(session, profiles)
        for (friend_id, _user_id, attempts), profile in answers:
            if profile is None:
                friends.schedule_profile_retry(
                    session, friend_id=friend_id, attempts=attempts, max_attempts=max_attempts
                )
    return stored


def profiles_tick(app: Flask, engine: Engine, line: LineClient) -> None:
    fetch_due_profiles(
        engine,
        line,
        max_attempts=app.config["PROFILE_FETCH_MAX_ATTEMPTS"],
        concurrency=app.config["PROFILE_FETCH_CONCURRENCY"],
    )


JOBS = (Job("profiles", seconds=1, tick=profiles_tick),)
