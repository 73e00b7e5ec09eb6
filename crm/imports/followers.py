"""Followers import: create friends from LINE's followers ids, page by page, resumable.

The import's row holds LINE's continuation token, so a restarted worker goes on from the last stored page.
Friends it creates get no follow event (their follow time is unknown): they are marked in imported_friend
and queued for the ordinary profile fetch. Nothing here calls LINE; the worker tick does
(crm/imports/jobs.py).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import bindparam
from sqlmodel import Session, select, update

from crm.errors import N_, TranslatableError
from crm.friends.models import Friend, FriendStatus
from crm.imports.models import FollowerImport, ImportedFriend, ImportState
from crm.sql import insert_for
from crm.staff.audit import Actor, record

PAGE_SIZE = 1000
RETRY_BASE = timedelta(seconds=10)
RETRY_MAX = timedelta(minutes=10)
MAX_FAILURES = 8
FORBIDDEN_MESSAGE = N_(
    "LINE does not allow this account to read its followers' IDs (only verified and premium "
    "accounts may). Friends are added as they follow or message the account instead."
)


class FollowersImportError(TranslatableError):
    """An import that cannot start, with a message for the admin."""


def latest(session: Session) -> FollowerImport | None:
    """The most recent import, if any."""
    return session.exec(select(FollowerImport).order_by(FollowerImport.id.desc()).limit(1)).first()


def start(session: Session, *, actor: Actor, now: datetime) -> FollowerImport:
    """Start an import from the first page; refuse while another one runs."""
    current = latest(session)
    if current is not None and current.state == ImportState.RUNNING:
        raise FollowersImportError(N_("An import is already running."))
    job = FollowerImport(started_by=actor.staff_id, started_at=now, next_attempt_at=now)
    session.add(job)
    session.flush()
    record(session, actor=actor, action="followers_import.started", target_type="follower_import", target_id=job.id)
    return job


def claim_due(session: Session, *, now: datetime, lease: timedelta) -> FollowerImport | None:
    """The running import whose next call is due, leased for `lease` (a crashed worker's lease runs out)."""
    query = (
        select(FollowerImport)
        .where(FollowerImport.state == ImportState.RUNNING, FollowerImport.next_attempt_at <= now)
        .order_by(FollowerImport.id)
        .limit(1)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    job = session.exec(query).first()
    if job is not None:
        job.next_attempt_at = now + lease
        session.add(job)
    return job


def still_at(session: Session, *, job_id: int, token: str | None) -> FollowerImport | None:
    """The import if it still runs from this continuation token (else another run stored the page)."""
    job = session.get(FollowerImport, job_id, with_for_update=True)
    if job is None or job.state != ImportState.RUNNING or job.next_token != token:
        return None
    return job


def apply_page(
    session: Session, job: FollowerImport, *, user_ids: list[str], next_token: str | None, now: datetime
) -> int:
    """Store one page: new friends, followers we thought blocked, and the position. Returns friends created."""
    valid = sorted({uid for uid in user_ids if isinstance(uid, str) and 0 < len(uid) <= 64})
    created = _insert_friends(session, valid, job_id=job.id, now=now) if valid else 0
    if valid:  # LINE says they follow: a block we recorded is older than their follow
        session.exec(
            update(Friend)
            .where(Friend.line_user_id.in_(valid), Friend.status == FriendStatus.BLOCKED)
            .values(status=FriendStatus.FOLLOWING, profile_fetch_due_at=now, profile_fetch_attempts=0)
        )
    job.pages, job.ids_seen, job.created = job.pages + 1, job.ids_seen + len(user_ids), job.created + created
    job.next_token, job.failures, job.last_error = next_token, 0, None
    job.next_attempt_at = now
    if next_token is None:
        job.state, job.finished_at, job.next_attempt_at = ImportState.DONE, now, None
    session.add(job)
    return created


def _insert_friends(session: Session, line_user_ids: list[str], *, job_id: int, now: datetime) -> int:
    table = Friend.__table__
    rows = [{"line_user_id": uid} for uid in line_user_ids]
    stmt = (
        insert_for(session, table)
        .values(
            line_user_id=bindparam("line_user_id"),
            status=FriendStatus.FOLLOWING,
            follow_count=0,
            profile_fetch_due_at=now,
            profile_fetch_attempts=0,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["line_user_id"])
        .returning(table.c.id)
    )
    created = [row[0] for chunk in _chunks(rows, 250) for row in session.connection().execute(stmt, chunk)]
    if created:
        session.add_all(
            [ImportedFriend(friend_id=friend_id, import_id=job_id, imported_at=now) for friend_id in created]
        )
    return len(created)


def _chunks(items: list, size: int):
    for start in range(0, len(items), size):
        yield items[start : start + size]


def record_failure(session: Session, job: FollowerImport, *, status: int | None, message: str, now: datetime) -> None:
    """LINE refused (403: stop with a clear message), limited us (429) or failed: back off and retry, up to
    MAX_FAILURES times in a row."""
    job.failures += 1
    if status == 403:
        job.state, job.finished_at, job.next_attempt_at, job.last_error = (
            ImportState.FORBIDDEN,
            now,
            None,
            FORBIDDEN_MESSAGE,
        )
    elif status in (400, 401) or job.failures >= MAX_FAILURES:
        job.state, job.finished_at, job.next_attempt_at = ImportState.FAILED, now, None
        job.last_error = f"{status or 'no answer'}: {message}"[:300]
    else:
        job.next_attempt_at = now + min(RETRY_BASE * (2 ** (job.failures - 1)), RETRY_MAX)
        job.last_error = f"{status or 'no answer'}: {message}"[:300]
    session.add(job)
