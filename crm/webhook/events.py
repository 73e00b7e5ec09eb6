"""Handling of one webhook event: a dispatch table keyed by event type, one transaction per event.

Inline handling stores and acts on an event in one transaction (`process_event`); queued handling stores the
body's events first (`store_events`, before /callback answers) and acts on each stored row afterwards
(`handle_stored_event`, from crm.webhook.consumer), marking it handled in the transaction of its effects."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError

from crm import group_commit, triggers
from crm.db import session_scope
from crm.friends import messages
from crm.friends import service as friends
from crm.outbound import events as webhook_events
from crm.timeutil import from_line_timestamp, utcnow
from crm.triggers import Trigger, TriggerEvent
from crm.webhook import event_store as event_service
from crm.webhook import failures
from crm.webhook.hooks import BlockContext, EventHooks, TextContext
from crm.webhook.postbacks import PostbackContext, PostbackRegistry

log = logging.getLogger(__name__)


@dataclass
class IncomingEvent:
    """One event of a webhook body with what every handler needs."""

    raw: dict
    key: str
    occurred_at: datetime
    user_id: str | None

    @property
    def type(self) -> str:
        return str(self.raw.get("type") or "unknown")


def fire(session, event: IncomingEvent, kind: TriggerEvent, friend_id: int, **values) -> None:
    """Tell the trigger subscribers (scenarios, automations) about the event, keyed by its webhook event id."""
    key = f"{event.type}:{event.key}"
    triggers.fire(session, Trigger(event=kind, friend_id=friend_id, key=key, occurred_at=event.occurred_at, **values))


def on_follow(session, event: IncomingEvent, _registry) -> int:
    friend_id = friends.follow(session, line_user_id=event.user_id, at=event.occurred_at)
    webhook_events.friend_followed(session, friend_id=friend_id, line_user_id=event.user_id, at=event.occurred_at)
    follow = event.raw.get("follow") if isinstance(event.raw.get("follow"), dict) else {}
    kind = TriggerEvent.FRIEND_UNBLOCKED if follow.get("isUnblocked") is True else TriggerEvent.FRIEND_ADDED
    fire(session, event, kind, friend_id, reply_token=_reply_token(event))
    return friend_id


def on_unfollow(session, event: IncomingEvent, _registry) -> int:
    friend_id = friends.block(session, line_user_id=event.user_id, at=event.occurred_at)
    webhook_events.friend_blocked(session, friend_id=friend_id, line_user_id=event.user_id, at=event.occurred_at)
    fire(session, event, TriggerEvent.FRIEND_BLOCKED, friend_id)
    return friend_id


def on_message(session, event: IncomingEvent, _registry) -> int:
    friend_id = friends.record_interaction(session, line_user_id=event.user_id, at=event.occurred_at)
    message = event.raw.get("message") if isinstance(event.raw.get("message"), dict) else {}
    messages.record_incoming(
        session, friend_id=friend_id, message=message, at=event.occurred_at, webhook_event_id=event.key
    )
    text = message.get("text") if message.get("type") == "text" and isinstance(message.get("text"), str) else None
    fire(session, event, TriggerEvent.MESSAGE_RECEIVED, friend_id, reply_token=_reply_token(event), text=text)
    return friend_id


def _reply_token(event: IncomingEvent) -> str | None:
    token = event.raw.get("replyToken")
    return token if isinstance(token, str) and 0 < len(token) <= 255 else None


def on_postback(session, event: IncomingEvent, registry: PostbackRegistry) -> int:
    friend_id = friends.record_interaction(session, line_user_id=event.user_id, at=event.occurred_at)
    postback = event.raw.get("postback") if isinstance(event.raw.get("postback"), dict) else {}
    params = postback.get("params") if isinstance(postback.get("params"), dict) else {}
    fire(session, event, TriggerEvent.POSTBACK_RECEIVED, friend_id, reply_token=_reply_token(event))
    registry.dispatch(
        PostbackContext(
            session=session,
            friend_id=friend_id,
            line_user_id=event.user_id,
            data=str(postback.get("data") or ""),
            params=params,
            reply_token=event.raw.get("replyToken"),
            occurred_at=event.occurred_at,
            event_key=event.key,
        )
    )
    return friend_id


def on_unsend(session, event: IncomingEvent, _registry) -> int | None:
    friend = friends.get_by_line_id(session, event.user_id)
    unsend = event.raw.get("unsend") if isinstance(event.raw.get("unsend"), dict) else {}
    if friend is None or not unsend.get("messageId"):
        return friend.id if friend else None
    messages.mark_unsent(session, friend_id=friend.id, line_message_id=str(unsend["messageId"]))
    event_service.blank_unsent_message(session, friend_id=friend.id, line_message_id=str(unsend["messageId"]))
    return friend.id


def on_other(session, event: IncomingEvent, _registry) -> int:
    return friends.record_interaction(session, line_user_id=event.user_id, at=event.occurred_at)


HANDLERS = {
    "follow": on_follow,
    "unfollow": on_unfollow,
    "message": on_message,
    "postback": on_postback,
    "unsend": on_unsend,
}


def notify_hooks(session, event: IncomingEvent, friend_id: int, hooks: EventHooks) -> None:
    """Offer a friend's text message, or their block, to the features' hooks."""
    if event.type == "unfollow":
        hooks.blocked(BlockContext(session=session, friend_id=friend_id, occurred_at=event.occurred_at))
        return
    message = event.raw.get("message") if event.type == "message" else None
    if isinstance(message, dict) and message.get("type") == "text" and isinstance(message.get("text"), str):
        hooks.text_received(
            TextContext(
                session=session,
                friend_id=friend_id,
                line_user_id=event.user_id,
                text=message["text"],
                reply_token=event.raw.get("replyToken"),
                occurred_at=event.occurred_at,
                event_key=event.key,
            )
        )


def parse_event(raw: dict) -> IncomingEvent:
    """Read the fields every handler needs; events from groups and rooms have no friend."""
    source = raw.get("source") if isinstance(raw.get("source"), dict) else {}
    user_id = source.get("userId") if source.get("type") == "user" else None
    if not (isinstance(user_id, str) and 0 < len(user_id) <= 64):
        user_id = None
    return IncomingEvent(
        raw=raw, key=event_service.event_key(raw), occurred_at=occurred_at(raw.get("timestamp")), user_id=user_id
    )


def occurred_at(timestamp) -> datetime:
    """The event's time; a missing or impossible timestamp (not a number, out of range) counts as now."""
    if isinstance(timestamp, (int, float)) and not isinstance(timestamp, bool):
        try:
            return from_line_timestamp(timestamp)
        except (OverflowError, ValueError, OSError):
            log.warning("webhook_event_bad_timestamp timestamp=%.40r", timestamp)
    return utcnow()


def process_event(
    engine: Engine, raw: dict, registry: PostbackRegistry, hooks: EventHooks | None = None, *, retry: bool = False
) -> str:
    """Store the event once and act on it once, in one transaction (inline handling); return 'processed',
    'duplicate', 'stored', 'failed' or 'transient'.

    An event whose handling raises costs only itself: its transaction is rolled back and it is kept aside
    with its error (see crm.webhook.failures) for an admin's retry. A retry, or LINE's redelivery, that gets
    through marks that failure resolved. 'transient' is a failure of the database itself (locked, connection
    lost, serialization): worth LINE's redelivery rather than an admin's attention alone."""
    try:
        return _store_and_handle(engine, raw, registry, hooks, retry=retry or is_redelivery(raw))
    except Exception as error:
        key = event_service.event_key(raw)
        log.exception("webhook_event id=%s type=%.40s status=failed", key, raw.get("type"))
        with session_scope(engine) as session:
            failures.record_failure(session, key=key, event=raw, error=error, now=utcnow())
        return "transient" if isinstance(error, OperationalError) else "failed"


def retry_failed_event(
    engine: Engine, *, failure_id: int, registry: PostbackRegistry, hooks: EventHooks | None = None
) -> str:
    """Handle a failed event again; the duplicate check makes a second retry, or one after LINE's redelivery
    succeeded, act on nothing. Returns process_event's outcome."""
    with session_scope(engine) as session:
        payload = failures.get_failure(session, failure_id).payload
    return process_event(engine, json.loads(payload), registry, hooks, retry=True)


def is_redelivery(raw: dict) -> bool:
    """Whether LINE marked the event as sent again."""
    delivery = raw.get("deliveryContext")
    return isinstance(delivery, dict) and bool(delivery.get("isRedelivery"))


def store_events(engine: Engine, raws: list[dict]) -> None:
    """Queued handling: store the events of one body, each waiting for the consumer (an event with no friend,
    from a group or a room, has nothing to wait for), and return once they are committed; a redelivered event
    is stored once. The insert joins the other requests' waiting at that moment in one transaction (group
    commit): each body's events still go in together or not at all."""
    events = [parse_event(raw) for raw in raws]

    def insert(connection: Connection) -> list[IncomingEvent]:
        stored = (
            event_service.insert_event(
                connection,
                key=event.key,
                event=event.raw,
                occurred_at=event.occurred_at,
                user_id=event.user_id,
                handled=event.user_id is None,
            )
            for event in events
        )
        return [event for event, row_id in zip(events, stored, strict=True) if row_id is None]

    for duplicate in group_commit.for_engine(engine).run(insert):
        _log(duplicate, None, "duplicate")


def handle_stored_event(
    engine: Engine, row_id: int, registry: PostbackRegistry, hooks: EventHooks | None = None
) -> str:
    """Queued handling: act once on a stored event, marking it handled in the same transaction; return
    'processed', 'stored', 'duplicate' (another consumer handled it first), 'failed' or 'transient'.

    An event whose handling raises is kept aside with its error for an admin's retry and marked handled;
    'transient' (the database failed: locked, connection lost) leaves it waiting, for the caller to retry."""
    raw = None
    try:
        with session_scope(engine) as session:
            raw = event_service.claim(session, row_id=row_id, now=utcnow())
            if raw is None:
                return "duplicate"
            event = parse_event(raw)
            outcome, friend_id = _act(session, event, row_id, registry, hooks)
            if is_redelivery(raw):  # an earlier delivery may have failed inline and been kept aside
                failures.resolve(session, key=event.key, now=utcnow())
    except Exception as error:
        if raw is not None and not isinstance(error, OperationalError):
            log.exception("webhook_event row=%s type=%.40s status=failed", row_id, raw.get("type"))
            set_aside(engine, row_id=row_id, error=error)
            return "failed"
        log.warning("webhook_event row=%s status=transient error=%.200s", row_id, error)
        return "transient"
    _log(event, friend_id, outcome)
    return outcome


def set_aside(engine: Engine, *, row_id: int, error: BaseException) -> bool:
    """Keep a waiting event aside with its error and mark it handled, unless another consumer handled it
    meanwhile; return whether it was set aside."""
    now = utcnow()
    with session_scope(engine) as session:
        raw = event_service.claim(session, row_id=row_id, now=now)
        if raw is not None:
            failures.record_failure(session, key=event_service.event_key(raw), event=raw, error=error, now=now)
    return raw is not None


def _store_and_handle(
    engine: Engine, raw: dict, registry: PostbackRegistry, hooks: EventHooks | None, *, retry: bool
) -> str:
    event = parse_event(raw)
    friend_id = None
    with session_scope(engine) as session:
        row_id = event_service.record_event(
            session, key=event.key, event=raw, occurred_at=event.occurred_at, user_id=event.user_id
        )
        if row_id is None and retry:
            row_id = _kept_aside_row(session, event)
            retry = False  # its failure, if any, is resolved
        if row_id is None:
            outcome = "duplicate"
        else:
            outcome, friend_id = _act(session, event, row_id, registry, hooks)
        if retry:
            failures.resolve(session, key=event.key, now=utcnow())
    _log(event, friend_id, outcome)
    return outcome


def _kept_aside_row(session, event: IncomingEvent) -> int | None:
    """The stored row of an event the queued handling kept aside (marked handled, its effects rolled back), its
    failure now resolved; None when the event has no unresolved failure (acted on already, or still waiting)."""
    if failures.resolve(session, key=event.key, now=utcnow()):
        return event_service.handled_row_id(session, key=event.key)
    return None


def _act(
    session, event: IncomingEvent, row_id: int, registry: PostbackRegistry, hooks: EventHooks | None
) -> tuple[str, int | None]:
    """Run the event's handler and hooks and attach its friend to the stored row; return the outcome and the
    friend's id."""
    if event.user_id is None:
        return "stored", None
    handler = HANDLERS.get(event.type, on_other)
    friend_id = handler(session, event, registry)
    if hooks is not None and friend_id is not None:
        notify_hooks(session, event, friend_id, hooks)
    if friend_id is not None:
        event_service.link_friend(session, event_row_id=row_id, friend_id=friend_id)
    return "processed", friend_id


def _log(event: IncomingEvent, friend_id: int | None, outcome: str) -> None:
    log.info(
        "webhook_event id=%s type=%s friend_id=%s redelivery=%s status=%s",
        event.key,
        event.type,
        friend_id,
        is_redelivery(event.raw),
        outcome,
    )
