"""Accepting a send: the retry key, the monthly quota and per-recipient delivery, done atomically."""

from __future__ import annotations

import time

from linesim import ids
from linesim.errors import LineError
from linesim.state import SimState

COUNTED_APIS = ("push", "multicast", "narrowcast", "broadcast")
QUOTABLE_TYPES = ("text", "textV2", "sticker", "image", "video")


def sent_messages(messages: list[dict]) -> list[dict]:
    """The sentMessages LINE returns: an ID per message, and a quote token where it can be quoted."""
    sent = []
    for message in messages:
        item = {"id": ids.message_id()}
        if message.get("type") in QUOTABLE_TYPES:
            item["quoteToken"] = ids.quote_token()
        sent.append(item)
    return sent


def check_retry_key(state: SimState, retry_key: str | None, api: str) -> None:
    """409 when a request with this retry key was accepted within 24 hours."""
    accepted = state.accepted(retry_key) if retry_key else None
    if accepted is None:
        return
    extra = {"sentMessages": accepted["sentMessages"]} if api == "push" else None
    raise LineError(
        409,
        "The retry key is already accepted",
        extra=extra,
        headers={"X-Line-Accepted-Request-Id": accepted["requestId"]},
    )


def check_quota(state: SimState, recipients: int) -> None:
    """429 when the month's limit can't cover these recipients."""
    limit = state.settings.quota_value
    if limit is not None and state.settings.total_usage + recipients > limit:
        raise LineError(429, "You have reached your monthly limit.")


def accept(
    state: SimState, *, api: str, request_id: str, retry_key: str | None, recipients: list[str], messages: list[dict]
) -> list[dict]:
    """Deliver to every reachable recipient and file the rest as undelivered; return sentMessages."""
    with state.lock:
        check_retry_key(state, retry_key, api)
        now = ids.now_ms()
        reasons = {chat_id: state.unreachable_reason(chat_id, now) for chat_id in recipients}
        reached = sum(1 for reason in reasons.values() if reason is None)
        if api in COUNTED_APIS:
            check_quota(state, reached)
            state.settings.total_usage += reached
        sent = sent_messages(messages)
        entry = {
            "api": api,
            "requestId": request_id,
            "retryKey": retry_key,
            "messages": messages,
            "sentMessages": sent,
            "sentAt": now,
        }
        for chat_id, reason in reasons.items():
            state.record_delivery(chat_id, entry, reason)
        if retry_key:
            state.retry_keys[retry_key] = {"requestId": request_id, "sentMessages": sent, "acceptedAt": time.time()}
        return sent


def reply(state: SimState, *, request_id: str, reply_token: str, messages: list[dict]) -> list[dict]:
    """Spend the reply token and deliver to the chat it came from (replies don't count against quota)."""
    with state.lock:
        chat_id = state.use_reply_token(reply_token)
        return accept(
            state, api="reply", request_id=request_id, retry_key=None, recipients=[chat_id], messages=messages
        )


def accept_narrowcast(state: SimState, *, request_id: str, retry_key: str | None, body: dict) -> None:
    """Record a narrowcast; the simulator has no audiences, so it is accepted and not delivered."""
    with state.lock:
        check_retry_key(state, retry_key, "narrowcast")
        state.narrowcasts.append(
            {"requestId": request_id, "retryKey": retry_key, "body": body, "acceptedAt": ids.now_ms()}
        )
        if retry_key:
            state.retry_keys[retry_key] = {"requestId": request_id, "sentMessages": [], "acceptedAt": time.time()}
