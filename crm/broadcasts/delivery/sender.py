"""Sending claimed jobs to LINE concurrently, turning LINE's answers into outcomes; and test sends."""

from __future__ import annotations

import json
import uuid
from concurrent.futures import Executor, Future
from dataclasses import dataclass

from sqlalchemy import select
from sqlmodel import Session

from crm.broadcasts import variants as broadcast_variants
from crm.broadcasts.delivery.requests import Job, Outcome, Result, backoff
from crm.broadcasts.models import Broadcast, RequestKind, TestFriend
from crm.friends.models import Friend
from crm.line.errors import LineApiError
from crm.message_templates import content as broadcast_content

THROTTLE_MIN, THROTTLE_MAX = 0.5, 8.0


def start_jobs(line, jobs: list[Job], pool: Executor) -> list[Future]:
    """Start sending every job on the pool; `collect` waits for their outcomes."""
    return [pool.submit(send_one, line, job) for job in jobs]


def collect(futures: list[Future]) -> list[Outcome]:
    """The outcomes of started jobs, in order."""
    return [future.result() for future in futures]


def send_one(line, job: Job) -> Outcome:
    """Send one request with its stored retry key; classify LINE's answer."""
    if job.refused:
        return Outcome(job, Result.FAILED, error=job.refused)
    if not job.to:
        return Outcome(job, Result.FAILED, error="no recipient")
    try:
        if job.kind == RequestKind.PUSH:
            line_id = line.push_messages(job.to[0], job.messages, retry_key=job.retry_key)
        else:
            line_id = line.multicast_messages(job.to, job.messages, retry_key=job.retry_key)
    except LineApiError as error:
        return _failure(job, error)
    return Outcome(job, Result.SENT, line_request_id=line_id)


def _failure(job: Job, error: LineApiError) -> Outcome:
    reason = f"{error.status or 'unreachable'}: {error}"
    if error.is_monthly_limit:
        return Outcome(job, Result.PAUSED, error=reason)
    if error.status == 429:
        return Outcome(job, Result.THROTTLED, error=reason, delay=THROTTLE_MIN)
    if error.retryable:
        return Outcome(job, Result.RETRY, error=reason, delay=backoff(job.attempts))
    return Outcome(job, Result.FAILED, error=reason)


class Pacer:
    """Slows the sender while LINE answers 429 (rate limit) and speeds back up when it stops."""

    def __init__(self):
        self.delay = 0.0

    def after(self, outcomes: list[Outcome]) -> float:
        """Update from a chunk's outcomes; return how long to wait before the next chunk."""
        throttled = sum(1 for outcome in outcomes if outcome.result == Result.THROTTLED)
        if not throttled:
            self.delay = self.delay / 2 if self.delay > THROTTLE_MIN / 8 else 0.0
        elif throttled * 10 >= len(outcomes):  # LINE pushes back hard: back off exponentially
            self.delay = min(THROTTLE_MAX, max(THROTTLE_MIN, self.delay * 2))
        else:  # an odd 429: a short breath
            self.delay = max(self.delay, THROTTLE_MIN)
        return self.delay


@dataclass(frozen=True)
class TestSendResult:
    friend_id: int
    ok: bool
    error: str | None = None


@dataclass(frozen=True)
class TestSend:
    """One test friend's rendered copy, ready to push."""

    friend_id: int
    line_user_id: str
    messages: list[dict]
    retry_key: str
    variant: str | None = None  # the A/B variant's label


def prepare_test_sends(session: Session, *, broadcast_id: int, friend_ids: list[int], base_url: str) -> list[TestSend]:
    """The broadcast rendered for each test friend and marked "[テスト]"; commit before pushing them. An A/B
    broadcast sends every variant to each test friend, each marked with its label ("[テスト A]").

    Links are tracked without the broadcast, so test clicks never count in its statistics.
    """
    broadcast = session.get(Broadcast, broadcast_id)
    if broadcast is None:
        raise LookupError(f"broadcast {broadcast_id} not found")
    contents = [(variant.label, variant.messages) for variant in broadcast_variants.of_broadcast(session, broadcast_id)]
    contents = contents or [(None, json.loads(broadcast.messages))]
    query = (
        select(Friend)
        .join(TestFriend, TestFriend.friend_id == Friend.id)
        .where(Friend.id.in_(friend_ids))
        .order_by(Friend.id)
    )
    sends = []
    for friend in session.execute(query).scalars():
        for label, messages in contents:
            rendered = broadcast_content.render(
                session,
                messages,
                friend=friend,
                base_url=base_url,
                broadcast_id=None,
                track_links=broadcast.track_links,
            )
            marked = broadcast_content.mark_as_test(rendered, variant=label)
            sends.append(TestSend(friend.id, friend.line_user_id, marked, str(uuid.uuid4()), label))
    return sends


def push_test_sends(line_client, sends: list[TestSend]) -> list[TestSendResult]:
    """Push prepared test copies now, with no transaction open; each friend's result."""
    results = []
    for send in sends:
        try:
            line_client.push_messages(send.line_user_id, send.messages, retry_key=send.retry_key)
            results.append(TestSendResult(send.friend_id, True))
        except LineApiError as error:
            results.append(TestSendResult(send.friend_id, False, f"{error.status}: {error}"))
    return results
