"""The followers import tick: store pages of LINE's followers ids."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from flask import Flask
from sqlalchemy.engine import Engine

from crm.db import session_scope
from crm.imports import followers as followers_import
from crm.jobs import Job
from crm.line.client import LineClient
from crm.line.errors import LineApiError
from crm.timeutil import utcnow

log = logging.getLogger(__name__)


LEASE = timedelta(minutes=2)


def import_followers(engine: Engine, line: LineClient, *, max_pages: int = 5, now: datetime | None = None) -> int:
    """Fetch and store up to max_pages pages of the running followers import; return pages stored. Each page
    is stored in one transaction with the next continuation token, so a restart resumes after the last
    stored page; LINE is called outside any transaction."""
    pages = 0
    for _ in range(max_pages):
        with session_scope(engine) as session:
            job = followers_import.claim_due(session, now=now or utcnow(), lease=LEASE)
            if job is None:
                break
            job_id, token = job.id, job.next_token
        try:
            user_ids, next_token = line.get_followers_ids(start=token, limit=followers_import.PAGE_SIZE)
            failure = None
        except LineApiError as error:
            log.warning("followers_import_failed id=%s status=%s error=%s", job_id, error.status, error)
            failure = error
        with session_scope(engine) as session:
            job = followers_import.still_at(session, job_id=job_id, token=token)
            if job is None:
                break
            if failure is not None:
                followers_import.record_failure(session, job, status=failure.status, message=str(failure), now=utcnow())
                break
            created = followers_import.apply_page(session, job, user_ids=user_ids, next_token=next_token, now=utcnow())
        pages += 1
        log.info(
            "followers_import id=%s page_ids=%s created=%s more=%s",
            job_id,
            len(user_ids),
            created,
            next_token is not None,
        )
    return pages


def followers_tick(_app: Flask, engine: Engine, line: LineClient) -> None:
    import_followers(engine, line)


JOBS = (Job("followers_import", seconds=2, tick=followers_tick),)
