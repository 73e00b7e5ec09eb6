"""Sign webhook bodies the way LINE does, for tests that post to /callback directly."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

from crm.webhook.consumer import QUEUED, event_consumer

SECRET = "simulator-channel-secret"


def sign(body: bytes, secret: str = SECRET) -> str:
    """base64(HMAC-SHA256(channel secret, raw body))."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def post_signed(client, payload, *, secret: str = SECRET, headers: dict | None = None):
    """POST a JSON payload (or raw bytes) to /callback with a valid signature; with queued handling, return once
    the consumer has handled what the post stored."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload, ensure_ascii=False).encode()
    all_headers = {"X-Line-Signature": sign(body, secret), "Content-Type": "application/json"}
    all_headers.update(headers or {})
    response = client.post("/callback", data=body, headers=all_headers)
    if client.application.config["WEBHOOK_HANDLING"] == QUEUED:
        assert event_consumer(client.application).wait_idle(), "the webhook consumer is still busy"
    return response


_counter = iter(range(1, 10**9))


def event(
    kind: str,
    user_id: str = "U" + "a" * 32,
    *,
    timestamp: int = 1_700_000_000_000,
    source: dict | None = None,
    event_id: str | None = None,
    **fields,
) -> dict:
    """A complete webhook event object of the given type, as LINE sends it."""
    body = {
        "type": kind,
        "mode": "active",
        "timestamp": timestamp,
        "source": source or {"type": "user", "userId": user_id},
        "webhookEventId": event_id or f"01TEST{next(_counter):020d}",
        "deliveryContext": {"isRedelivery": False},
    }
    body.update(fields)
    return body


def webhook_body(*events) -> dict:
    """A webhook body carrying these events."""
    return {"destination": "U" + "0" * 32, "events": list(events)}
