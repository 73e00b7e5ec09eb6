"""Posting webhooks: register what the events promise (reply tokens, chats), sign the exact bytes, post."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import time

import requests

from linesim import ids
from linesim.errors import SimError
from linesim.state import SimState

USER_AGENT = "LineBotWebhook/2.0"


def sign(channel_secret: str, body: bytes) -> str:
    """base64(HMAC-SHA256(channel secret, raw body)), the x-line-signature value."""
    digest = hmac.new(channel_secret.encode("utf-8"), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def chat_id_of(source: dict | None) -> str | None:
    """The chat a reply goes to: the group, the room, or the user."""
    source = source or {}
    return source.get("groupId") or source.get("roomId") or source.get("userId")


def register(state: SimState, event: dict) -> None:
    """Remember an event for redelivery, its reply token, and which groups/rooms the bot is in."""
    if isinstance(event.get("webhookEventId"), str):
        state.events[event["webhookEventId"]] = event
    source = event.get("source") if isinstance(event.get("source"), dict) else {}
    chat_id = chat_id_of(source)
    if isinstance(event.get("replyToken"), str) and chat_id:
        state.issue_reply_token(event["replyToken"], chat_id, event.get("timestamp") or ids.now_ms())
    if source.get("type") in ("group", "room") and chat_id:
        if event.get("type") == "leave":
            state.chats.pop(chat_id, None)
        else:
            state.chats[chat_id] = source["type"]


def dispatch(
    state: SimState,
    events: list[dict],
    *,
    signature: str | None = None,
    destination: str | None = None,
    redelivery: bool = False,
) -> dict:
    """Send one webhook carrying these events; the CRM's status, the time it took, and any error."""
    with state.lock:
        if not redelivery:
            for event in events:
                register(state, event)
        url, timeout = state.settings.webhook_url, state.settings.webhook_timeout
        payload = {"destination": destination or state.config["BOT_USER_ID"], "events": events}
        secret = state.config["CHANNEL_SECRET"]
    # LINE escapes non-ASCII characters as \uXXXX; a receiver must verify the raw bytes, not re-serialized JSON.
    body = json.dumps(payload, separators=(",", ":")).encode("ascii")
    result = post(url, body, signature or sign(secret, body), timeout)
    with state.lock:
        state.webhook_log.append({"events": events, "sentAt": ids.now_ms(), "redelivery": redelivery, **result})
    return result


def post(url: str | None, body: bytes, signature: str, timeout: float) -> dict:
    """POST the signed body; never raises."""
    if not url:
        return {"status": None, "elapsedMs": 0.0, "error": "no webhook URL configured", "responseBody": None}
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "x-line-signature": signature,
        "User-Agent": USER_AGENT,
    }
    started = time.monotonic()
    try:
        with requests.Session() as session:
            response = session.post(url, data=body, headers=headers, timeout=timeout)
        status, error, text = response.status_code, None, response.text[:1000]
    except requests.RequestException as exc:
        status, error, text = None, f"{type(exc).__name__}: {exc}", None
    elapsed = round((time.monotonic() - started) * 1000, 2)
    return {"status": status, "elapsedMs": elapsed, "error": error, "responseBody": text}


def redeliver(state: SimState, webhook_event_id: str) -> dict:
    """Send a previously sent event again, identical but for deliveryContext.isRedelivery."""
    with state.lock:
        original = state.events.get(webhook_event_id)
        if original is None:
            raise SimError(404, f"no event {webhook_event_id} was sent")
        event = copy.deepcopy(original)
        event["deliveryContext"] = {"isRedelivery": True}
        if event.get("replyToken"):
            state.mark_redelivered(event["replyToken"])
    return {**dispatch(state, [event], redelivery=True), "event": event}
