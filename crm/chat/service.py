"""1:1 chat from the console: push a text to one friend exactly once per retry key, and LINE's quota."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from sqlmodel import Session, select

from crm.errors import N_, TranslatableError
from crm.friends.models import Friend, FriendStatus, Message, MessageDirection
from crm.sql import insert_for
from crm.staff.audit import Actor, record
from crm.timeutil import utcnow

log = logging.getLogger(__name__)
MAX_UTF16_UNITS = 5000
SENT_ACTION = "chat.sent"


class ChatError(TranslatableError):
    """A message that cannot be sent; msgid and params let the edge translate it."""


class Pusher(Protocol):
    """What sending needs from the LINE client."""

    def push_text(self, user_id: str, text: str, *, retry_key: str) -> None: ...


@dataclass(frozen=True)
class SendResult:
    """The stored message, and whether this retry key had already sent it."""

    message: Message
    duplicate: bool


def utf16_length(text: str) -> int:
    """Length as LINE counts it: UTF-16 code units (an emoji outside the BMP counts 2)."""
    return len(text.encode("utf-16-le")) // 2


def clean_text(text: str | None) -> str:
    """Normalise line ends; refuse an empty text or one over LINE's 5,000 UTF-16 units."""
    text = (text or "").replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise ChatError(N_("Write a message first."))
    length = utf16_length(text)
    if length > MAX_UTF16_UNITS:
        raise ChatError(
            N_("A message can have at most %(max)d characters (now %(count)d)."), max=MAX_UTF16_UNITS, count=length
        )
    return text


def new_retry_key() -> str:
    """A fresh retry key (UUID4) for one reply form."""
    return str(uuid.uuid4())


def check_retry_key(retry_key: str | None) -> str:
    """Accept only a UUID4 in canonical form, as LINE's X-Line-Retry-Key requires."""
    try:
        parsed = uuid.UUID(retry_key or "")
    except ValueError:
        parsed = None
    if parsed is None or parsed.version != 4 or str(parsed) != retry_key:
        raise ChatError(N_("The form has expired. Reload the page and send again."))
    return retry_key


def sent_with_key(session: Session, *, retry_key: str) -> Message | None:
    """The message already stored for this retry key, if any."""
    return session.exec(select(Message).where(Message.retry_key == retry_key)).first()


def claim_send(
    session: Session, *, friend: Friend, text: str, retry_key: str, staff_id: int | None = None
) -> SendResult:
    """Store the outgoing text under its retry key, to be pushed once this transaction has committed.

    The message row (unique retry key) is written first: a second request with the same key, even one racing
    the first, finds it already stored and gets a duplicate, which must not be pushed again.
    """
    if friend.status != FriendStatus.FOLLOWING:
        raise ChatError(N_("This friend has blocked the account, so messages cannot be sent."))
    text, retry_key = clean_text(text), check_retry_key(retry_key)
    message = _claim_key(session, friend=friend, text=text, retry_key=retry_key, staff_id=staff_id)
    if message is None:
        previous = sent_with_key(session, retry_key=retry_key)
        if previous is None or previous.friend_id != friend.id:
            raise ChatError(N_("The form has expired. Reload the page and send again."))
        return SendResult(previous, duplicate=True)
    return SendResult(message, duplicate=False)


def push_claimed(client: Pusher, *, line_user_id: str, message: Message) -> None:
    """Push a claimed text with its retry key; call it with no transaction open. LINE errors propagate.

    Retrying with the same key is safe: LINE answers 409 for a key it already accepted, which counts as sent.
    """
    client.push_text(line_user_id, message.text, retry_key=message.retry_key)


def record_sent(session: Session, *, message_id: int, actor: Actor) -> None:
    """Audit a pushed message (its length, never its text)."""
    message = session.get(Message, message_id)
    record(
        session,
        actor=actor,
        action=SENT_ACTION,
        target_type="friend",
        target_id=message.friend_id,
        after={"message_id": message.id, "retry_key": message.retry_key, "length": utf16_length(message.text)},
    )


def release_claim(session: Session, *, message_id: int) -> None:
    """Forget a claimed message LINE refused, so the conversation shows only what was sent and the same
    form (same retry key) can be sent again."""
    message = session.get(Message, message_id)
    if message is not None:
        session.delete(message)


def _claim_key(session: Session, *, friend: Friend, text: str, retry_key: str, staff_id: int | None) -> Message | None:
    """Store the outgoing message under its retry key; None when the key is already taken.

    INSERT ... ON CONFLICT DO NOTHING on the unique key: a racing request waits for the first one's
    transaction and then inserts nothing.
    """
    statement = (
        insert_for(session, Message.__table__)
        .values(
            friend_id=friend.id,
            direction=MessageDirection.OUTGOING,
            message_type="text",
            text=text,
            sent_via="console",
            staff_id=staff_id,
            retry_key=retry_key,
            unsent=False,
            created_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["retry_key"])
        .returning(Message.__table__.c.id)
    )
    message_id = session.connection().execute(statement).scalar()
    return None if message_id is None else session.get(Message, message_id)


class QuotaLevel(StrEnum):
    """How much of LINE's message quota is left, as the page shows it."""

    OK = "ok"
    LOW = "low"  # less than 10% left
    EXHAUSTED = "exhausted"
    UNKNOWN = "unknown"  # LINE could not be asked


@dataclass(frozen=True)
class QuotaState:
    """LINE's message quota as the page shows it."""

    limited: bool
    limit: int | None
    used: int | None
    remaining: int | None
    level: QuotaLevel


UNKNOWN_QUOTA = QuotaState(limited=False, limit=None, used=None, remaining=None, level=QuotaLevel.UNKNOWN)


def quota_state(quota) -> QuotaState:
    """Classify a LineClient Quota: low under 10% remaining, exhausted at 0."""
    level = QuotaLevel.OK
    if quota.limited and quota.remaining is not None:
        if quota.remaining <= 0:
            level = QuotaLevel.EXHAUSTED
        elif quota.remaining * 10 < quota.limit:
            level = QuotaLevel.LOW
    return QuotaState(quota.limited, quota.limit, quota.used, quota.remaining, level)


class QuotaCache:
    """LINE's quota, refreshed at most once per ttl in a background thread; callers wait at most `wait` seconds.

    A failure is cached as unknown for ttl too, so a LINE outage costs one slow call per minute, not per page.
    """

    def __init__(
        self,
        fetch: Callable[[], object],
        *,
        ttl: float = 60.0,
        wait: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._fetch, self._ttl, self._wait, self._clock = fetch, ttl, wait, clock
        self._lock = threading.Lock()
        self._value: QuotaState | None = None
        self._expires = 0.0
        self._refreshing: threading.Event | None = None

    def get(self) -> QuotaState:
        """The cached state; when it is stale, start one refresh and wait for it briefly. Never raises."""
        with self._lock:
            if self._value is not None and self._clock() < self._expires:
                return self._value
            if self._refreshing is None:
                self._refreshing = threading.Event()
                threading.Thread(target=self._refresh, args=(self._refreshing,), daemon=True, name="line-quota").start()
            refreshing = self._refreshing
        refreshing.wait(self._wait)
        with self._lock:
            fresh = self._value is not None and self._clock() < self._expires
            return self._value if fresh else UNKNOWN_QUOTA

    def forget(self) -> None:
        """Drop the cached state (after a send used a message), so the next `get` asks LINE again."""
        with self._lock:
            self._expires = 0.0

    def _refresh(self, done: threading.Event) -> None:
        try:
            value = quota_state(self._fetch())
        except Exception as error:  # any LINE or network failure must not break the page
            log.warning("quota_fetch_failed error=%s", error)
            value = UNKNOWN_QUOTA
        with self._lock:
            self._value, self._expires, self._refreshing = value, self._clock() + self._ttl, None
        done.set()
