"""Replies to a friend's event, sent after the webhook has answered LINE: features queue them here.

`queue_reply()` writes the messages in the event's own transaction (so a reply exists exactly when the event's
work was committed); once that commits, the app's in-process sender wakes and sends them at once, with no
transaction open, while /callback answers LINE without waiting. The worker's `replies` job sends whatever is
left: retries after LINE failures, and replies whose sender died with the process.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime

from flask import Flask, current_app
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session

from crm.db import get_engine, get_session, session_scope
from crm.jobs import Job
from crm.line.runtime import line_client
from crm.on_demand import OnDemandThread
from crm.sending import queue as reply_queue
from crm.timeutil import utcnow

log = logging.getLogger(__name__)
SENDER_KEY = "crm_reply_sender"
WAKE_FLAG = "crm_reply_wake"  # Session.info: a wake-up is already arranged for this session's commit
PREVIEW_MAX = 80


def queue_reply(
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
    """Queue messages answering an event, in the event's transaction; they go out once it commits.

    `retry_key` (a UUID) must be derived from the event, so a redelivered event queues nothing twice (None).
    """
    reply_id = reply_queue.queue(
        session,
        friend_id=friend_id,
        line_user_id=line_user_id,
        messages=messages,
        reply_token=reply_token,
        occurred_at=occurred_at,
        retry_key=retry_key,
        source=source,
    )
    if reply_id is not None and not session.info.get(WAKE_FLAG):
        session.info[WAKE_FLAG] = True
        sender = reply_sender(current_app._get_current_object())
        event.listen(session, "after_commit", lambda done: _wake(done, sender), once=True)
    return reply_id


def _wake(session: Session, sender: ReplySender) -> None:
    session.info.pop(WAKE_FLAG, None)
    sender.wake()


def send_due(engine: Engine, line, *, now: datetime | None = None, batch: int = 20, max_rounds: int = 20) -> int:
    """Claim due replies, send them with no transaction open, record the outcomes; return how many were sent."""
    sent = 0
    for _ in range(max_rounds):
        with session_scope(engine) as session:
            claimed = reply_queue.claim_due(session, now=now or utcnow(), limit=batch)
        if not claimed:
            break
        outcomes = [reply_queue.send(line, reply) for reply in claimed]
        with session_scope(engine) as session:
            reply_queue.record(session, outcomes, now=now or utcnow())
        sent += sum(1 for outcome in outcomes if outcome.state == reply_queue.ReplyState.SENT)
    return sent


class ReplySender(OnDemandThread):
    """The app's in-process sender: a thread started on demand that drains the due replies and ends."""

    def __init__(self, app: Flask):
        self._app = app
        super().__init__(self._send_due, name="reply-sender", failure_event="reply_sender_failed")

    def _send_due(self) -> None:  # the worker's job retries whatever stays queued
        send_due(get_engine(self._app), line_client(self._app))


def reply_sender(app: Flask) -> ReplySender:
    """The app's reply sender (created on first use)."""
    sender = app.extensions.get(SENDER_KEY)
    if sender is None:
        sender = app.extensions[SENDER_KEY] = ReplySender(app)
    return sender


@dataclass(frozen=True)
class RefusedReply:
    """A reply LINE refused for good, as the friend page lists it."""

    id: int
    preview: str
    source: str
    error: str
    created_at: datetime


def _preview(messages_json: str) -> str:
    texts = [message.get("text") or f"[{message.get('type')}]" for message in json.loads(messages_json)]
    preview = " / ".join(texts)
    return preview if len(preview) <= PREVIEW_MAX else preview[: PREVIEW_MAX - 1] + "…"


def friend_page_helpers() -> dict:
    """`friend_failed_replies(friend_id)` for the friend page's card of refused replies."""

    def refused(friend_id: int) -> list[RefusedReply]:
        rows = reply_queue.failed(get_session(), friend_id=friend_id)
        return [RefusedReply(r.id, _preview(r.messages), r.source, r.last_error or "", r.created_at) for r in rows]

    return {"friend_failed_replies": refused}


def replies_tick(app: Flask, engine: Engine, line) -> None:
    send_due(engine, line)


JOBS = (Job("replies", seconds=2, tick=replies_tick),)
