"""The outgoing-reply queue's steps: queue in the event's transaction, claim what is due, send with no
transaction open, record LINE's answer.

A reply token is used on the first attempt only, while fresh (after a timeout it is tried once more: LINE's
"Invalid reply token" then means the first call got through); when it fails (expired or used token, 5xx,
timeouts) the messages are pushed at once under the reply's retry key, which stays the same across attempts,
so LINE's 409 makes a repeated push harmless. A push that fails with a timeout, a 5xx or a 429 is
retried with backoff; any other refusal marks the reply failed, with LINE's reason.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlmodel import Session

from crm.db import is_postgresql
from crm.line.errors import LineApiError
from crm.sending.models import OutgoingReply, ReplyState
from crm.sql import insert_for
from crm.timeutil import utcnow

log = logging.getLogger(__name__)
REPLY_TOKEN_LIFETIME = timedelta(seconds=50)  # LINE: about a minute after the event; keep a margin
LEASE = timedelta(seconds=60)  # a claimed reply is tried again after this if its sender died
MAX_ATTEMPTS = 10
BACKOFF_MAX = timedelta(minutes=10)
ERROR_MAX = 300
INVALID_TOKEN = "invalid reply token"


@dataclass(frozen=True)
class ClaimedReply:
    """A reply taken for one attempt; `reply_token` is None when it may no longer be used."""

    id: int
    line_user_id: str
    messages: list[dict]
    reply_token: str | None
    retry_key: str
    attempts: int


@dataclass(frozen=True)
class ReplyOutcome:
    """How an attempt ended: state SENT (via "reply" or "push"), PENDING (retry later) or FAILED."""

    reply: ClaimedReply
    state: str
    via: str | None = None
    error: str | None = None


def queue(
    session: Session,
    *,
    friend_id: int,
    line_user_id: str,
    messages: list[dict],
    reply_token: str | None,
    occurred_at: datetime,
    retry_key: str,
    source: str,
) -> int | None:
    """Queue messages answering a friend's event; None when this retry key is already queued (redelivery)."""
    statement = (
        insert_for(session, OutgoingReply.__table__)
        .values(
            friend_id=friend_id,
            line_user_id=line_user_id,
            messages=json.dumps(messages, ensure_ascii=False),
            reply_token=reply_token,
            reply_expires_at=occurred_at + REPLY_TOKEN_LIFETIME if reply_token else None,
            retry_key=retry_key,
            source=source,
            state=ReplyState.PENDING,
            attempts=0,
            next_attempt_at=utcnow(),
            created_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["retry_key"])
        .returning(OutgoingReply.__table__.c.id)
    )
    return session.connection().execute(statement).scalar()


def claim_due(session: Session, *, now: datetime, limit: int = 20, lease: timedelta = LEASE) -> list[ClaimedReply]:
    """Take up to `limit` due pending replies for one attempt (their lease moves their next attempt ahead)."""
    query = (
        select(OutgoingReply)
        .where(OutgoingReply.state == ReplyState.PENDING, OutgoingReply.next_attempt_at <= now)
        .order_by(OutgoingReply.next_attempt_at, OutgoingReply.id)
        .limit(limit)
    )
    if is_postgresql(session):
        query = query.with_for_update(skip_locked=True)
    rows = list(session.execute(query).scalars())
    if not rows:
        return []
    session.execute(
        update(OutgoingReply)
        .where(OutgoingReply.id.in_([row.id for row in rows]))
        .values(next_attempt_at=now + lease, attempts=OutgoingReply.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    return [_claimed(row, now) for row in rows]


def _claimed(row: OutgoingReply, now: datetime) -> ClaimedReply:
    fresh = row.reply_token and row.attempts == 0 and row.reply_expires_at and now < row.reply_expires_at
    token = row.reply_token if fresh else None
    return ClaimedReply(row.id, row.line_user_id, json.loads(row.messages), token, row.retry_key, row.attempts + 1)


def send(client, reply: ClaimedReply) -> ReplyOutcome:
    """One attempt, made with no transaction open: the fresh reply token, else (or when it fails) a push."""
    if reply.reply_token and _replied(client, reply):
        return ReplyOutcome(reply, ReplyState.SENT, via="reply")
    try:
        client.push_messages(reply.line_user_id, reply.messages, retry_key=reply.retry_key)
    except LineApiError as error:
        reason = f"{error.status or 'unreachable'}: {error}"[:ERROR_MAX]
        log.warning("reply_push_failed reply_id=%s attempt=%s error=%s", reply.id, reply.attempts, reason)
        state = ReplyState.PENDING if error.retryable else ReplyState.FAILED
        return ReplyOutcome(reply, state, error=reason)
    return ReplyOutcome(reply, ReplyState.SENT, via="push")


def _replied(client, reply: ClaimedReply) -> bool:
    """Whether the reply token delivered the messages.

    After a timeout LINE may have taken the reply anyway, and a reply has no retry key: the token is tried once
    more, and LINE's "Invalid reply token" for a token this fresh means the first call used it."""
    for attempt in (1, 2):
        try:
            client.reply_messages(reply.reply_token, reply.messages)
            return True
        except LineApiError as error:
            log.warning("reply_token_failed reply_id=%s status=%s error=%s", reply.id, error.status, error)
            if attempt == 2 and error.status == 400 and INVALID_TOKEN in str(error).lower():
                return True
            if error.status is not None:  # LINE answered: it did not take this reply
                return False
    return False


def backoff(attempts: int) -> timedelta:
    """Wait before the next attempt: 5 s, 10 s, 20 s, … up to 10 minutes."""
    return min(timedelta(seconds=5 * 2 ** max(attempts - 1, 0)), BACKOFF_MAX)


def record(session: Session, outcomes: list[ReplyOutcome], *, now: datetime, max_attempts: int = MAX_ATTEMPTS) -> None:
    """Store each attempt's outcome; a reply still failing after `max_attempts` is marked failed."""
    for outcome in outcomes:
        values: dict = {"last_error": outcome.error}
        if outcome.state == ReplyState.SENT:
            values.update(state=ReplyState.SENT, sent_via=outcome.via, sent_at=now, reply_token=None)
        elif outcome.state == ReplyState.PENDING and outcome.reply.attempts < max_attempts:
            values.update(next_attempt_at=now + backoff(outcome.reply.attempts), reply_token=None)
        else:
            values.update(state=ReplyState.FAILED, reply_token=None)
            log.error("reply_failed reply_id=%s error=%s", outcome.reply.id, outcome.error)
        session.execute(update(OutgoingReply).where(OutgoingReply.id == outcome.reply.id).values(**values))


def failed(session: Session, *, friend_id: int | None = None, limit: int = 50) -> list[OutgoingReply]:
    """Replies LINE refused for good, newest first."""
    query = select(OutgoingReply).where(OutgoingReply.state == ReplyState.FAILED)
    if friend_id is not None:
        query = query.where(OutgoingReply.friend_id == friend_id)
    return list(session.execute(query.order_by(OutgoingReply.id.desc()).limit(limit)).scalars())


def erase_friend(session: Session, *, friend_id: int, line_user_id: str) -> int:
    """Erasure scrubber: drop the friend's queued and sent replies (they hold messages and the user ID)."""
    statement = delete(OutgoingReply).where(
        (OutgoingReply.friend_id == friend_id) | (OutgoingReply.line_user_id == line_user_id)
    )
    return session.execute(statement).rowcount
