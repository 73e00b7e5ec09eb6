"""Friends: follow, block, interactions, profile; every edge goes through these."""

from __future__ import annotations

import functools
from datetime import datetime, timedelta

from sqlalchemy import bindparam, case
from sqlmodel import Session, select, update

from crm.errors import N_, TranslatableError
from crm.friends.models import Friend, FriendStatus
from crm.line.profile import Profile
from crm.sql import dialect_insert, later_of, utc_literal
from crm.timeutil import UTCDateTime, utcnow

PROFILE_RETRY_BASE = timedelta(seconds=30)
PROFILE_RETRY_MAX = timedelta(hours=6)


class FriendErasedError(TranslatableError):
    """The friend's data was erased: nothing personal may be stored on them again."""

    code = "conflict"


def lock_living_friend(session: Session, *, friend_id: int) -> Friend | None:
    """The friend, locked for the rest of the transaction so an erasure cannot run between this check and the
    caller's write; FriendErasedError if their data was erased (None if there is no such friend)."""
    friend = session.get(Friend, friend_id, with_for_update=True, populate_existing=True)
    if friend is not None and friend.status == FriendStatus.ERASED:
        raise FriendErasedError(N_("This friend's data was erased; nothing more can be stored about them."))
    return friend


def get_by_line_id(session: Session, line_user_id: str) -> Friend | None:
    """Return the friend with this LINE user id, if any."""
    return session.exec(select(Friend).where(Friend.line_user_id == line_user_id)).first()


def _time_param(name: str):
    return bindparam(name, type_=UTCDateTime())


@functools.cache
def _follow_statement(dialect: str):
    """The follow upsert, built once per dialect (parameters: line_user_id, at, now)."""
    table = Friend.__table__
    at, now = _time_param("at"), _time_param("now")
    stmt = dialect_insert(dialect, table).values(
        line_user_id=bindparam("line_user_id"),
        status=FriendStatus.FOLLOWING,
        follow_count=1,
        first_followed_at=at,
        last_followed_at=at,
        last_interaction_at=at,
        profile_fetch_due_at=now,
        profile_fetch_attempts=0,
        created_at=now,
    )
    newer_block = table.c.blocked_at.is_not(None) & (table.c.blocked_at > at)
    return stmt.on_conflict_do_update(
        index_elements=["line_user_id"],
        set_={
            "status": case((newer_block, table.c.status), else_=FriendStatus.FOLLOWING),
            "follow_count": table.c.follow_count + 1,
            "first_followed_at": case((table.c.first_followed_at.is_(None), at), else_=table.c.first_followed_at),
            "last_followed_at": later_of(table.c.last_followed_at, at),
            "last_interaction_at": later_of(table.c.last_interaction_at, at),
            "profile_fetch_due_at": now,
            "profile_fetch_attempts": 0,
        },
    ).returning(table.c.id)


@functools.cache
def _block_statement(dialect: str):
    """The block upsert, built once per dialect (parameters: line_user_id, at, now)."""
    table = Friend.__table__
    at = _time_param("at")
    stmt = dialect_insert(dialect, table).values(
        line_user_id=bindparam("line_user_id"),
        status=FriendStatus.BLOCKED,
        blocked_at=at,
        follow_count=0,
        created_at=_time_param("now"),
    )
    newer_follow = table.c.last_followed_at.is_not(None) & (table.c.last_followed_at > at)
    return stmt.on_conflict_do_update(
        index_elements=["line_user_id"],
        set_={
            "status": case((newer_follow, table.c.status), else_=FriendStatus.BLOCKED),
            "blocked_at": later_of(table.c.blocked_at, at),
            "profile_fetch_due_at": None,
        },
    ).returning(table.c.id)


@functools.cache
def _interaction_statement(dialect: str):
    """The interaction upsert, built once per dialect (parameters: line_user_id, at, now)."""
    table = Friend.__table__
    at, now = _time_param("at"), _time_param("now")
    return (
        dialect_insert(dialect, table)
        .values(
            line_user_id=bindparam("line_user_id"),
            status=FriendStatus.FOLLOWING,
            follow_count=0,
            last_interaction_at=at,
            profile_fetch_due_at=now,
            created_at=now,
        )
        .on_conflict_do_update(
            index_elements=["line_user_id"],
            set_={
                "last_interaction_at": later_of(table.c.last_interaction_at, at),
            },
        )
        .returning(table.c.id)
    )


def _upsert(session: Session, statement_builder, *, line_user_id: str, at: datetime) -> int:
    """Run a prebuilt friend upsert on the session's connection (the webhook's hot path)."""
    statement = statement_builder(session.get_bind().dialect.name)
    params = {"line_user_id": line_user_id, "at": at, "now": utcnow()}
    return session.connection().execute(statement, params).scalar_one()


def follow(session: Session, *, line_user_id: str, at: datetime) -> int:
    """Create or revive a friend as following; return its id. Tags and history are kept."""
    return _upsert(session, _follow_statement, line_user_id=line_user_id, at=at)


def block(session: Session, *, line_user_id: str, at: datetime) -> int:
    """Mark a friend as blocked at this time (creating the record if unknown); return its id."""
    return _upsert(session, _block_statement, line_user_id=line_user_id, at=at)


def record_interaction(session: Session, *, line_user_id: str, at: datetime) -> int:
    """Note that the user interacted; a user unknown so far becomes a following friend."""
    return _upsert(session, _interaction_statement, line_user_id=line_user_id, at=at)


def update_living_friend(session: Session, *, friend_id: int, **values) -> bool:
    """Update a friend's columns unless the friend was erased meanwhile (a profile fetch or an import in flight
    must never write personal data back onto an erased row); return whether the row was updated."""
    statement = update(Friend).where(Friend.id == friend_id, Friend.status != FriendStatus.ERASED).values(**values)
    return session.exec(statement).rowcount > 0


def apply_profile(session: Session, *, friend_id: int, profile: Profile) -> bool:
    """Store a fetched profile and stop retrying; return False (storing nothing) if the friend was erased."""
    return update_living_friend(
        session,
        friend_id=friend_id,
        display_name=profile.display_name,
        picture_url=profile.picture_url,
        language=profile.language,
        status_message=profile.status_message,
        profile_fetched_at=utcnow(),
        profile_fetch_due_at=None,
        profile_fetch_attempts=0,
    )


@functools.cache
def _apply_profile_statement():
    """Store one fetched profile unless the friend was erased (parameters: friend_id, the profile's fields, now)."""
    table = Friend.__table__
    return (
        update(table)
        .where(table.c.id == bindparam("friend_id"), table.c.status != FriendStatus.ERASED)
        .values(
            display_name=bindparam("display_name"),
            picture_url=bindparam("picture_url"),
            language=bindparam("language"),
            status_message=bindparam("status_message"),
            profile_fetched_at=_time_param("now"),
            profile_fetch_due_at=None,
            profile_fetch_attempts=0,
        )
    )


def apply_profiles(session: Session, profiles: dict[int, Profile]) -> int:
    """Store a batch of fetched profiles ({friend id: profile}) in one statement, as apply_profile does each;
    return how many were stored (an erased friend's is not)."""
    if not profiles:
        return 0
    now = utcnow()
    rows = [
        {
            "friend_id": friend_id,
            "display_name": profile.display_name,
            "picture_url": profile.picture_url,
            "language": profile.language,
            "status_message": profile.status_message,
            "now": now,
        }
        for friend_id, profile in profiles.items()
    ]
    return session.connection().execute(_apply_profile_statement(), rows).rowcount


def schedule_profile_retry(session: Session, *, friend_id: int, attempts: int, max_attempts: int) -> None:
    """Retry a failed profile fetch later with exponential backoff, until max_attempts (never for an erased
    friend)."""
    delay = min(PROFILE_RETRY_BASE * (2**attempts), PROFILE_RETRY_MAX)
    due = utcnow() + delay if attempts + 1 < max_attempts else None
    update_living_friend(session, friend_id=friend_id, profile_fetch_due_at=due, profile_fetch_attempts=attempts + 1)


def claim_due_profile_fetches(
    session: Session, *, now: datetime, lease: timedelta, limit: int
) -> list[tuple[int, str, int]]:
    """Claim friends whose profile fetch is due; returns (id, LINE id, attempts) and leases them."""
    query = (
        select(Friend.id, Friend.line_user_id, Friend.profile_fetch_attempts)
        .where(Friend.profile_fetch_due_at <= utc_literal(now), Friend.status == FriendStatus.FOLLOWING)
        .order_by(Friend.profile_fetch_due_at)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    rows = [tuple(row) for row in session.exec(query)]
    if rows:
        session.exec(update(Friend).where(Friend.id.in_([r[0] for r in rows])).values(profile_fetch_due_at=now + lease))
    return rows
