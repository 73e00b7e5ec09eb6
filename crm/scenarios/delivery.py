"""Scenario steps delivered exactly once, by the broadcasts' delivery engine (a registered delivery source).

The runtime decides each step once and writes a queued scenario_send row. Here, in the worker's "delivery"
job, every round of the delivery tick:
1. settles the sends handed to the reply queue whose reply has ended (sent by reply token or push, or failed);
2. fetches the profile of friends who have no display name yet when a due step says `{name}` (outside any
   transaction, with a short timeout; LINE giving none or taking too long only means rendering without it);
3. writes one batch of due sends into delivery requests or replies (`delivery_batch`), and sends those replies
   (2 and 3 wait while a claim's worth of written requests is due: those go first).
The engine then claims, sends and records the requests like a broadcast's: retry key stored before the
request, lease, SKIP LOCKED, 409 = already accepted, 429 pacing.

LINE's monthly limit: a scenario request that meets it waits, with every other pending scenario request, for
MONTHLY_LIMIT_WAIT and is tried again then (the send stays queued). Broadcasts pause on their own and do not
stop scenario sends, nor do scenario sends pause a broadcast: each meets LINE's answer itself.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.sql import Select
from sqlmodel import Session

from crm.broadcasts.delivery import requests as delivery_requests
from crm.broadcasts.delivery.schedule import DeliverySettings
from crm.broadcasts.delivery.sources import DeliverySource, register_source
from crm.broadcasts.models import DeliveryRequest, RequestKind, RequestState
from crm.db import session_scope
from crm.friends.models import Friend
from crm.message_templates import content
from crm.scenarios import delivery_batch, delivery_profiles
from crm.scenarios.models import REPLYING, ScenarioSend, SendState
from crm.sending import replies
from crm.sending.models import OutgoingReply, ReplyState
from crm.sql import array_agg
from crm.timeutil import utcnow

SOURCE = "scenario"
MONTHLY_LIMIT_WAIT = timedelta(minutes=10)
REPLY_ERASED = "reply erased"
# Sends of a request are matched as "not finished" rather than "= queued": the planner must take the request_id
# index, not the (state, due_at) one that holds every queued send.
FINISHED = (SendState.SENT, SendState.FAILED)


def prepare(engine: Engine, line, now: datetime, settings: DeliverySettings) -> int:
    """Settle ended replies, fetch missing names, write one batch of due sends; how many sends it handled.

    While a claim's worth of written requests is already due, no batch is written: the round sends them instead
    (a batch of pushes writes thousands of requests, and a round sends one claim)."""
    settled = settle_replies(engine, now=now)
    if _due_requests(engine, at_least=settings.claim_batch):
        return settled
    delivery_profiles.fetch_missing_names(engine, line, now=now, limit=settings.snapshot_batch)
    with session_scope(engine) as session:
        batch = delivery_batch.write_batch(session, now=now, limit=settings.snapshot_batch, base_url=settings.base_url)
    if batch.replies:
        replies.send_due(engine, line)
        settled += settle_replies(engine, now=now)
    return batch.sends + settled


def _due_requests(engine: Engine, *, at_least: int) -> bool:
    """Whether `at_least` requests of active scenarios are due to be sent now."""
    due = (
        select(DeliveryRequest.id)
        .where(DeliveryRequest.broadcast_id.is_(None), DeliveryRequest.state == RequestState.PENDING)
        .where(DeliveryRequest.next_attempt_at <= utcnow())
        .where(DeliveryRequest.scenario_step_id.in_(delivery_batch.active_steps()))
        .limit(at_least)
    )
    with session_scope(engine) as session:
        return len(session.execute(due).all()) >= at_least


def settle_replies(engine: Engine, *, now: datetime) -> int:
    """Copy the outcome of ended replies onto their sends (sent via "reply" or "push", or failed); how many."""
    replying = select(ScenarioSend.id, ScenarioSend.reply_id).where(REPLYING).subquery()  # its partial index
    query = (
        select(replying.c.id, OutgoingReply.state, OutgoingReply.sent_via, OutgoingReply.sent_at)
        .add_columns(OutgoingReply.last_error)
        .outerjoin(OutgoingReply, OutgoingReply.id == replying.c.reply_id)
        .where(or_(OutgoingReply.id.is_(None), OutgoingReply.state != ReplyState.PENDING))
    )
    with session_scope(engine) as session:
        rows = session.execute(query).all()
        for send_id, state, via, sent_at, error in rows:
            values = (
                {"state": SendState.SENT, "sent_via": via, "sent_at": sent_at or now, "error": None}
                if state == ReplyState.SENT
                else {"state": SendState.FAILED, "error": (error or REPLY_ERASED)[: delivery_requests.ERROR_MAX]}
            )
            session.execute(update(ScenarioSend).where(ScenarioSend.id == send_id).values(**values))
        return len(rows)


def claim(session: Session, now: datetime, settings: DeliverySettings) -> list[delivery_requests.Job]:
    """Lease due requests of active scenarios and fill each with its recipients and (rendered) messages."""
    active_steps = delivery_batch.active_steps()
    jobs = delivery_requests.lease_due(
        session,
        # broadcast_id IS NULL: the due index (broadcast_id, state, next_attempt_at) finds them
        where=[DeliveryRequest.broadcast_id.is_(None), DeliveryRequest.scenario_step_id.in_(active_steps)],
        now=now,
        lease=settings.lease,
        limit=settings.claim_batch,
        source=SOURCE,
    )
    if not jobs:
        return []
    by_id = {job.request_id: job for job in jobs}
    variant_of = dict(
        session.execute(
            select(DeliveryRequest.id, DeliveryRequest.scenario_variant_id).where(DeliveryRequest.id.in_(by_id))
        ).all()
    )
    messages_of = delivery_batch.template_messages(session, set(variant_of.values()))
    for job in jobs:
        messages = messages_of[variant_of[job.request_id]]
        if isinstance(messages, str):  # the template went away after the send was written into the request
            job.refused = messages
        elif job.kind == RequestKind.MULTICAST:
            job.messages = messages
    multicast = [job.request_id for job in jobs if job.kind == RequestKind.MULTICAST and not job.refused]
    if multicast:  # the LINE user IDs aggregated into one list per request
        query = _unfinished(multicast, array_agg(session, Friend.line_user_id)).group_by(ScenarioSend.request_id)
        for request_id, line_user_ids in session.execute(query):
            by_id[request_id].to = line_user_ids
    pushed = [job.request_id for job in jobs if job.kind == RequestKind.PUSH and not job.refused]
    _render_pushes(session, [by_id[i] for i in pushed], variant_of, messages_of, settings.base_url)
    return jobs


def _unfinished(request_ids: list[int], *columns) -> Select:
    """SELECT (request id, *columns) of the requests' unfinished sends and their friends."""
    return (
        select(ScenarioSend.request_id, *columns)
        .join(Friend, Friend.id == ScenarioSend.friend_id)
        .where(ScenarioSend.request_id.in_(request_ids), ScenarioSend.state.not_in(FINISHED))
    )


def _render_pushes(session: Session, jobs: list, variant_of: dict, messages_of: dict, base_url: str) -> None:
    """Each push rendered for its friend now (tracked tokens are stable: a retry renders the same text)."""
    by_id = {job.request_id: job for job in jobs}
    rows = session.execute(_unfinished(list(by_id), Friend)).all() if by_id else []
    fields = content.load_fields(session, [friend.id for _, friend in rows], _field_keys(messages_of.values()))
    for request_id, friend in rows:
        job, variant_id = by_id[request_id], variant_of[request_id]
        job.to = [friend.line_user_id]
        job.messages = delivery_batch.render_step(
            session,
            messages_of[variant_id],
            friend=friend,
            variant_id=variant_id,
            base_url=base_url,
            fields=fields.get(friend.id, {}),
        )


def _field_keys(all_messages) -> set[str]:
    return {key for messages in all_messages if not isinstance(messages, str) for key in content.field_keys(messages)}


_FINISH_SENDS = (
    update(ScenarioSend.__table__)
    .where(ScenarioSend.__table__.c.request_id == bindparam("rid"), ScenarioSend.__table__.c.state == SendState.QUEUED)
    .values(state=bindparam("to_state"), sent_at=bindparam("at"), error=bindparam("err"))
)


def finish(session: Session, outcomes: list[delivery_requests.Outcome], state: str, now: datetime) -> None:
    """The requests ended: their sends are SENT (at now) or FAILED with LINE's reason."""
    sent = state == RequestState.SENT
    session.connection().execute(
        _FINISH_SENDS,
        [
            {
                "rid": outcome.job.request_id,
                "to_state": SendState.SENT if sent else SendState.FAILED,
                "at": now if sent else None,
                "err": None if sent else (outcome.error or "")[: delivery_requests.ERROR_MAX],
            }
            for outcome in outcomes
        ],
    )


def hold(session: Session, outcomes: list[delivery_requests.Outcome], now: datetime) -> None:
    """LINE's monthly limit: every pending scenario request waits MONTHLY_LIMIT_WAIT, then tries again."""
    until = now + MONTHLY_LIMIT_WAIT
    reason = outcomes[0].error
    session.execute(
        update(DeliveryRequest)
        .where(
            DeliveryRequest.broadcast_id.is_(None),
            DeliveryRequest.scenario_step_id.is_not(None),
            DeliveryRequest.state == RequestState.PENDING,
            DeliveryRequest.next_attempt_at < until,
        )
        .values(next_attempt_at=until, error=reason)
        .execution_options(synchronize_session=False)
    )


def register() -> None:
    """Make the delivery tick carry scenario sends."""
    register_source(DeliverySource(name=SOURCE, prepare=prepare, claim=claim, finish=finish, hold=hold))
