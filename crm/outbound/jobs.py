"""Worker ticks: deliver outbound webhooks, forward relayed LINE webhooks, turn clicks into events."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta

import requests
from flask import Flask
from sqlalchemy.engine import Engine

from crm.db import session_scope
from crm.jobs import Job
from crm.outbound import delivery as outbox_delivery
from crm.outbound import events as webhook_events
from crm.outbound import relay
from crm.outbound.models import OutboxState
from crm.timeutil import utcnow

log = logging.getLogger(__name__)


LEASE = timedelta(minutes=2)


USER_AGENT = "LINE-CRM-Webhooks/1"


def _post(url: str, body: bytes, headers: dict, timeout: float) -> tuple[int | None, str | None]:
    """POST once; (status code, None) when answered, (None, error) when not. Redirects are not followed."""
    try:
        with requests.post(
            url,
            data=body,
            headers={"User-Agent": USER_AGENT, **headers},
            stream=True,
            timeout=(min(timeout, 3.0), timeout),
            allow_redirects=False,
        ) as response:
            return response.status_code, None if response.ok else f"HTTP {response.status_code}"
    except requests.RequestException as error:
        return None, f"{type(error).__name__}: {error}"[:300]


def signed_headers(*, secret: str, body: bytes, event_id: str, event_type: str, created_at: str) -> dict:
    """The headers of one delivery (the signature covers the raw body, which holds id and time too)."""
    return {
        "Content-Type": "application/json; charset=utf-8",
        "X-CRM-Event-Id": event_id,
        "X-CRM-Event-Type": event_type,
        "X-CRM-Timestamp": created_at,
        outbox_delivery.SIGNATURE_HEADER: outbox_delivery.sign(secret, body),
    }


def deliver_webhooks(
    engine: Engine, *, max_attempts: int = 8, timeout: float = 5.0, batch: int = 50, now: datetime | None = None
) -> int:
    """Send the due outbox rows once each; return how many were delivered. An endpoint that does not answer
    is skipped for the rest of the tick (its other rows wait, uncounted), so one dead receiver costs one
    timeout per tick. `now` fixes the clock (tests); by default each attempt is stamped when it ends."""
    clock = (lambda: now) if now else utcnow
    now = clock()
    with session_scope(engine) as session:
        outbox_delivery.prune(session, now=now)
        claimed = outbox_delivery.claim_due(session, now=now, lease=LEASE, limit=batch)
    delivered, unreachable, skipped = 0, set(), []
    for delivery_id, attempts, body, event_id, event_type, endpoint_id, url, secret in claimed:
        if endpoint_id in unreachable:
            skipped.append(delivery_id)
            continue
        status, error = _send(url, secret, body, event_id, event_type, timeout)
        if status is None:
            unreachable.add(endpoint_id)
        with session_scope(engine) as session:
            state = outbox_delivery.record_attempt(
                session,
                delivery_id=delivery_id,
                endpoint_id=endpoint_id,
                attempts=attempts,
                now=clock(),
                status_code=status,
                error=error,
                max_attempts=max_attempts,
            )
        delivered += state == OutboxState.DELIVERED
        log.info(
            "webhook_delivery id=%s endpoint=%s type=%s status=%s state=%s",
            delivery_id,
            endpoint_id,
            event_type,
            status or error,
            state,
        )
    if skipped:
        with session_scope(engine) as session:
            outbox_delivery.release(session, delivery_ids=skipped, at=now)
    return delivered


def _send(url: str, secret: str, body: str, event_id: str, event_type: str, timeout: float):
    """Sign and POST one stored event."""
    raw = body.encode("utf-8")
    created_at = str(int(datetime.fromisoformat(json.loads(body)["created_at"]).timestamp()))
    return _post(
        url,
        raw,
        signed_headers(secret=secret, body=raw, event_id=event_id, event_type=event_type, created_at=created_at),
        timeout,
    )


def forward_relay(
    engine: Engine,
    *,
    url: str,
    max_attempts: int = 8,
    timeout: float = 5.0,
    batch: int = 50,
    now: datetime | None = None,
) -> int:
    """Forward queued LINE webhook bodies unchanged with their X-Line-Signature; return how many arrived.
    Stops at the first failure so bodies reach the other tool in the order LINE sent them."""
    clock = (lambda: now) if now else utcnow
    now = clock()
    with session_scope(engine) as session:
        claimed = relay.claim_due(session, now=now, lease=LEASE, limit=batch)
    forwarded, stop_at = 0, None
    for index, (item_id, attempts, body, signature) in enumerate(claimed):
        status, error = _post(
            url,
            bytes(body),
            {"Content-Type": "application/json; charset=utf-8", "X-Line-Signature": signature},
            timeout,
        )
        with session_scope(engine) as session:
            relay.record_attempt(
                session,
                item_id=item_id,
                attempts=attempts,
                now=clock(),
                status_code=status,
                error=error,
                max_attempts=max_attempts,
            )
        if error is not None:
            stop_at = index + 1
            log.warning("relay_failed id=%s status=%s error=%s", item_id, status, error)
            break
        forwarded += 1
    if stop_at is not None and stop_at < len(claimed):
        with session_scope(engine) as session:  # the rest waits, uncounted
            relay.release(session, item_ids=[row[0] for row in claimed[stop_at:]], at=now)
    return forwarded


def link_click_events(engine: Engine, *, now: datetime | None = None) -> int:
    """Turn new clicks into link.clicked events (nothing but a cursor move when nobody subscribes)."""
    with session_scope(engine) as session:
        return webhook_events.emit_link_clicks(session, now=now or utcnow())


def webhooks_tick(app: Flask, engine: Engine, _line) -> None:
    """Outbound webhooks, link.clicked events and, when configured, the LINE webhook relay."""
    attempts, timeout = app.config["WEBHOOK_MAX_ATTEMPTS"], app.config["WEBHOOK_TIMEOUT_SECONDS"]
    link_click_events(engine)
    deliver_webhooks(engine, max_attempts=attempts, timeout=timeout)
    if app.config.get("LINE_WEBHOOK_RELAY_URL"):
        forward_relay(engine, url=app.config["LINE_WEBHOOK_RELAY_URL"], max_attempts=attempts, timeout=timeout)


JOBS = (Job("webhooks", seconds=2, tick=webhooks_tick),)
