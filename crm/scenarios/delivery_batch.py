"""One batch of due scenario sends made ready for delivery, in one transaction.

Each queued send whose time has come is, once:
- failed with a clear reason when it cannot go out (its template deleted or archived, the friend no longer
  following): nothing is sent;
- handed to the reply queue when it is the enrolment's first and the enrolling follow's reply token is still
  fresh (free of the monthly quota; the queue falls back to push under a retry key derived from the send);
- otherwise written into delivery requests: sends of the same step and variant go out by multicast (up to 500 a
  request) when the content is the same for everyone, by one push each (rendered at claim time) when it is not.
The rows are read with SKIP LOCKED on PostgreSQL, so several workers never write the same send twice.
"""

from __future__ import annotations

import inspect
import json
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, select, update
from sqlmodel import Session

from crm.broadcasts.delivery import snapshot as delivery_snapshot
from crm.broadcasts.models import RequestKind
from crm.db import is_postgresql
from crm.friends.models import Friend, FriendStatus
from crm.message_templates import content
from crm.message_templates.models import MessageTemplate
from crm.scenarios.models import (
    UNREQUESTED,
    Enrolment,
    Scenario,
    ScenarioSend,
    ScenarioStatus,
    ScenarioStep,
    SendState,
    StepVariant,
)
from crm.sending import queue as reply_queue

REPLY_SOURCE = "scenario"
RETRY_KEY_NAMESPACE = uuid.UUID("5b0f6f0e-9a53-4c1e-8a8f-3c3f2d6a9e14")  # reply retry keys from send ids
NOT_FOLLOWING = "not following"
TEMPLATE_DELETED = "template deleted"
TEMPLATE_ARCHIVED = "template archived"
_RENDER_KNOWS_VARIANTS = "scenario_variant_id" in inspect.signature(content.render).parameters


@dataclass(frozen=True)
class DueSend:
    id: int
    enrolment_id: int
    step_id: int
    variant_id: int | None
    friend_id: int


@dataclass
class BatchResult:
    """What one batch did with its sends."""

    failed: int = 0
    replies: int = 0
    requested: int = 0
    requests: int = 0

    @property
    def sends(self) -> int:
        return self.failed + self.replies + self.requested


def active_scenarios():
    """The ids of the scenarios whose sends may go out (a paused one's wait for its resume)."""
    return select(Scenario.id).where(Scenario.status == ScenarioStatus.ACTIVE)


def due_query(now: datetime, limit: int):
    """The due sends of active scenarios not yet given to a request or a reply, oldest first (a partial index
    holds exactly the unrequested ones)."""
    columns = (ScenarioSend.id, ScenarioSend.enrolment_id, ScenarioSend.step_id, ScenarioSend.variant_id)
    return (
        select(*columns, ScenarioSend.friend_id)
        .where(UNREQUESTED, ScenarioSend.due_at <= now, ScenarioSend.scenario_id.in_(active_scenarios()))
        .order_by(ScenarioSend.due_at, ScenarioSend.id)
        .limit(limit)
    )


def active_steps():
    """The ids of the steps of active scenarios: their requests may be sent."""
    return select(ScenarioStep.id).where(ScenarioStep.scenario_id.in_(active_scenarios()))


def template_messages(session: Session, variant_ids) -> dict[int, list[dict] | str]:
    """Each variant's messages, or why it has none to send (its template deleted or archived)."""
    rows = session.execute(
        select(StepVariant.id, MessageTemplate.messages, MessageTemplate.archived)
        .outerjoin(MessageTemplate, MessageTemplate.id == StepVariant.template_id)
        .where(StepVariant.id.in_([variant_id for variant_id in variant_ids if variant_id is not None]))
    ).all()
    found = {
        variant_id: (TEMPLATE_ARCHIVED if archived else json.loads(messages)) if messages else TEMPLATE_DELETED
        for variant_id, messages, archived in rows
    }
    return defaultdict(lambda: TEMPLATE_DELETED, found)


def render_step(
    session: Session, messages: list[dict], *, friend: Friend, variant_id: int | None, base_url: str, fields=None
) -> list[dict]:
    """A step variant's messages as this friend receives them: placeholders filled, links tracked per friend
    (and counted for the variant where the template engine takes it)."""
    extra = {"scenario_variant_id": variant_id} if _RENDER_KNOWS_VARIANTS else {}
    return content.render(
        session, messages, friend=friend, base_url=base_url, broadcast_id=None, track_links=True, fields=fields, **extra
    )


def write_batch(session: Session, *, now: datetime, limit: int, base_url: str) -> BatchResult:
    """Fail, reply to or write into requests the next `limit` due sends; what it did."""
    query = due_query(now, limit)
    if is_postgresql(session):
        query = query.with_for_update(skip_locked=True)
    sends = [DueSend(*row) for row in session.execute(query)]
    result = BatchResult()
    if not sends:
        return result
    not_following = _not_following(session, {send.friend_id for send in sends})
    messages_of = template_messages(session, {send.variant_id for send in sends})
    fresh_tokens = _fresh_tokens(session, {send.enrolment_id for send in sends}, now)
    failures, groups = [], defaultdict(list)
    for send in sends:
        messages = messages_of[send.variant_id]
        if isinstance(messages, str) or send.friend_id in not_following:
            failures.append((send.id, messages if isinstance(messages, str) else NOT_FOLLOWING))
        elif send.enrolment_id in fresh_tokens:
            token, expires_at = fresh_tokens.pop(send.enrolment_id)  # a reply token is used once
            _queue_reply(session, send, messages, token, expires_at, base_url)
            result.replies += 1
        else:
            groups[(send.step_id, send.variant_id)].append(send.id)
    _fail(session, failures)
    result.failed = len(failures)
    for (step_id, variant_id), send_ids in groups.items():
        result.requests += _request(session, step_id, variant_id, send_ids, messages_of[variant_id])
        result.requested += len(send_ids)
    return result


def _not_following(session: Session, friend_ids: set[int]) -> set[int]:
    """The friends of the batch who no longer follow (friends are never deleted; a batch holds thousands, nearly
    all following: only the few others are read)."""
    query = select(Friend.id).where(Friend.id.in_(friend_ids), Friend.status != FriendStatus.FOLLOWING)
    return set(session.execute(query).scalars())


def _fresh_tokens(session: Session, enrolment_ids: set[int], now: datetime) -> dict[int, tuple[str, datetime]]:
    """The enrolments whose follow's reply token is still unused and fresh: {id: (token, expires at)}."""
    rows = session.execute(
        select(Enrolment.id, Enrolment.reply_token, Enrolment.reply_expires_at).where(
            Enrolment.id.in_(enrolment_ids), Enrolment.reply_token.is_not(None), Enrolment.reply_expires_at > now
        )
    ).all()
    return {enrolment_id: (token, expires_at) for enrolment_id, token, expires_at in rows}


def _queue_reply(session, send: DueSend, messages, token: str, expires_at, base_url: str) -> None:
    """Queue the send as the follow's reply (push under the same retry key if the token fails) and use the token
    up; the send learns the outcome from the reply row (`delivery.settle_replies`)."""
    friend = session.get(Friend, send.friend_id)
    retry_key = str(uuid.uuid5(RETRY_KEY_NAMESPACE, f"scenario_send:{send.id}"))
    reply_id = reply_queue.queue(
        session,
        friend_id=friend.id,
        line_user_id=friend.line_user_id,
        messages=render_step(session, messages, friend=friend, variant_id=send.variant_id, base_url=base_url),
        reply_token=token,
        occurred_at=expires_at - reply_queue.REPLY_TOKEN_LIFETIME,
        retry_key=retry_key,
        source=REPLY_SOURCE,
    )
    if reply_id is None:  # queued before, by a batch whose transaction did not record it: never
        raise RuntimeError(f"scenario send {send.id} already has a reply queued")
    session.execute(update(ScenarioSend).where(ScenarioSend.id == send.id).values(reply_id=reply_id, sent_via="reply"))
    session.execute(
        update(Enrolment).where(Enrolment.id == send.enrolment_id).values(reply_token=None, reply_expires_at=None)
    )


_FAIL = (
    update(ScenarioSend.__table__)
    .where(ScenarioSend.__table__.c.id == bindparam("sid"), ScenarioSend.__table__.c.state == SendState.QUEUED)
    .values(state=SendState.FAILED, error=bindparam("reason"))
)


def _fail(session: Session, failures: list[tuple[int, str]]) -> None:
    if failures:
        session.connection().execute(_FAIL, [{"sid": send_id, "reason": reason} for send_id, reason in failures])


def _request(session: Session, step_id: int, variant_id: int | None, send_ids: list[int], messages) -> int:
    """Write the requests carrying one step variant's sends; how many."""
    personal = content.is_personal(messages, track_links=True)
    groups = delivery_snapshot.request_groups(send_ids, personal=personal)
    request_ids = delivery_snapshot.create_requests(
        session, groups, personal=personal, scenario_step_id=step_id, scenario_variant_id=variant_id
    )
    via = str(RequestKind.PUSH if personal else RequestKind.MULTICAST)
    if personal:  # one send per request: one statement for the whole batch
        attach = update(ScenarioSend.__table__).where(ScenarioSend.__table__.c.id == bindparam("sid"))
        rows = [{"sid": send_id, "rid": request_id} for (send_id,), request_id in zip(groups, request_ids, strict=True)]
        session.connection().execute(attach.values(request_id=bindparam("rid"), sent_via=via), rows)
    else:  # up to 500 sends per request: one statement per request
        for request_sends, request_id in zip(groups, request_ids, strict=True):
            session.execute(
                update(ScenarioSend)
                .where(ScenarioSend.id.in_(request_sends))
                .values(request_id=request_id, sent_via=via)
            )
    return len(groups)
