"""Trigger events: things a friend did or that happened to them, which scenarios and other automations react to.

Features fire them in the transaction that recorded the fact; subscribers run in that same transaction and
write to the database only (no network calls). Core: it knows no feature, features subscribe at init.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlmodel import Session


class TriggerEvent(StrEnum):
    """The kinds of trigger event."""

    FRIEND_ADDED = "friend_added"  # first follow
    FRIEND_UNBLOCKED = "friend_unblocked"  # a follow after a block (LINE's follow.isUnblocked)
    FRIEND_BLOCKED = "friend_blocked"
    TAG_ADDED = "tag_added"
    SURVEY_ANSWERED = "survey_answered"  # a survey completed
    LINK_CLICKED = "link_clicked"  # a friend's click on a tracked link
    MESSAGE_RECEIVED = "message_received"  # a text or other message from the friend
    POSTBACK_RECEIVED = "postback_received"  # a tap on a postback button or rich-menu area


@dataclass(frozen=True)
class Trigger:
    """One occurrence: `key` is unique per occurrence (e.g. "follow:<webhook event id>", "click:<click id>"),
    so that subscribers can make their work idempotent; `ref_id` is the tag, survey or link concerned."""

    event: TriggerEvent
    friend_id: int
    key: str
    occurred_at: datetime
    ref_id: int | None = None
    reply_token: str | None = None  # for events LINE sent with one (follow, message, postback)
    text: str | None = None  # message_received: the text, if any


Subscriber = Callable[[Session, Trigger], None]
BatchSubscriber = Callable[[Session, Sequence[Trigger]], None]
_subscribers: list[tuple[Subscriber, BatchSubscriber | None]] = []


def subscribe(callback: Subscriber, *, batch: BatchSubscriber | None = None) -> Subscriber:
    """Run `callback(session, trigger)` for every trigger fired (registering it again has no effect). `batch`,
    if given, takes several triggers at once for `fire_many` with the same effect as calling `callback` on each
    in order, in fewer statements."""
    if all(registered is not callback for registered, _ in _subscribers):
        _subscribers.append((callback, batch))
    return callback


def fire(session: Session, trigger: Trigger) -> None:
    """Tell every subscriber, in the caller's transaction."""
    for callback, _ in tuple(_subscribers):
        callback(session, trigger)


def fire_many(session: Session, triggers: Sequence[Trigger]) -> None:
    """Tell every subscriber about several triggers in the caller's transaction (a worker reading a backlog of
    clicks): a subscriber's batch handler gets them together, the others get them one by one."""
    if not triggers:
        return
    for callback, batch in tuple(_subscribers):
        if batch is not None:
            batch(session, triggers)
        else:
            for trigger in triggers:
                callback(session, trigger)
