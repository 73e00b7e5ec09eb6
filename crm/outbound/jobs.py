"""Worker ticks: deliver outbound webhooks, forward relayed LINE webhooks, turn clicks into events."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from flask import Flask
from sqlalchemy.engine import Engine

from crm.db import session_scope
from crm.jobs import Job
from crm.outbound import delivery as outbox_delivery
from crm.outbound import events as webhook_events
from crm.outbound import relay, transport
from crm.outbound.models import OutboxState
from crm.timeutil import utcnow

log = logging.getLogger(__name__)


LEASE = timedelta(minutes=2)
ENDPOINT_CONCURRENCY = 8  # endpoints served at once in one tick, each by its own thread


def signed_headers(*, secret: str, body: bytes, event_id: str, event_type: str, created_at: str) -> dict:
    """The headers of one delivery (the signature covers the raw body, which holds id and time too)."""
    return {
        "Content-Type": "application/json; charset=utf-8",
        "X-CRM-Event-Id": event_id,
        "X-CRM-Event-Type": event_type,
        "X-CRM-Timestamp": created_at,
        outbox_delivery.SIGNATURE_HEADER: outbox_delivery.sign(secret, body),
    }


@dataclass(frozen=True)
class _Sender:
    """How one tick sends: the engine, the clock, the attempt limit, the per-request deadline and the address
    policy."""

    engine: Engine
    clock: Callable[[], datetime]
    max_attempts: int
    timeout: float
    allow_private: bool

    def post(self, url: str, body: bytes, headers: dict) -> transport.Outcome:
        return transport.post(url, body, headers, deadline=self.timeout, allow_private=self.allow_private)


def deliver_webhooks(
    engine: Engine,
    *,
    max_attempts: int = 8,
    timeout: float = 5.0,
    batch: int = 50,
    allow_private: bool = False,
    now: datetime | None = None,
) -> int:
    """Send the due outbox rows once each; return how many were delivered. Each endpoint is served by its own
    thread, so a slow or dead receiver does not hold the others. An endpoint that does not answer, or has used
    its time for this tick (one deadline), is skipped for the rest of the tick (its other rows wait,
    uncounted). Each request ends within `timeout` seconds in all. `now` fixes the clock (tests); by default
    each attempt is stamped when it ends."""
    clock = (lambda: now) if now else utcnow
    sender = _Sender(engine, clock, max_attempts, timeout, allow_private)
    started = clock()
    with session_scope(engine) as session:
        outbox_delivery.prune(session, now=started)
        claimed = outbox_delivery.claim_due(session, now=started, lease=LEASE, limit=batch)
    by_endpoint: dict[int, list[tuple]] = {}
    for row in claimed:
        by_endpoint.setdefault(row[5], []).append(row)
    if not by_endpoint:
        return 0
    workers = min(len(by_endpoint), ENDPOINT_CONCURRENCY)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="webhook") as pool:
        results = list(pool.map(partial(_deliver_endpoint, sender), by_endpoint.values()))
    skipped = [delivery_id for _delivered, rest in results for delivery_id in rest]
    if skipped:
        with session_scope(engine) as session:
            outbox_delivery.release(session, delivery_ids=skipped, at=started)
    return sum(delivered for delivered, _rest in results)


def _deliver_endpoint(sender: _Sender, rows: list[tuple]) -> tuple[int, list[int]]:
    """One endpoint's due rows in order; (delivered, ids left for a later tick)."""
    delivered, budget_ends = 0, time.monotonic() + sender.timeout
    for index, (delivery_id, attempts, body, event_id, event_type, endpoint_id, url, secret) in enumerate(rows):
        if index and time.monotonic() >= budget_ends:
            return delivered, [row[0] for row in rows[index:]]
        outcome = _send(sender, url, secret, body, event_id, event_type)
        with session_scope(sender.engine) as session:
            state = outbox_delivery.record_attempt(
                session,
                delivery_id=delivery_id,
                endpoint_id=endpoint_id,
                attempts=attempts,
                now=sender.clock(),
                status_code=outcome.status_code,
                error=outcome.failure,
                max_attempts=sender.max_attempts,
            )
        delivered += state == OutboxState.DELIVERED
        log.info(
            "webhook_delivery id=%s endpoint=%s type=%s status=%s state=%s",
            delivery_id,
            endpoint_id,
            event_type,
            outcome.status_code or outcome.failure,
            state,
        )
        if outcome.status_code is None:
            return delivered, [row[0] for row in rows[index + 1 :]]
    return delivered, []


def _send(sender: _Sender, url: str, secret: str, body: str, event_id: str, event_type: str) -> transport.Outcome:
    """Sign and POST one stored event."""
    raw = body.encode("utf-8")
    created_at = str(int(datetime.fromisoformat(json.loads(body)["created_at"]).timestamp()))
    headers = signed_headers(secret=secret, body=raw, event_id=event_id, event_type=event_type, created_at=created_at)
    return sender.post(url, raw, headers)


def forward_relay(
    engine: Engine,
    *,
    url: str,
    channel_secret: str = "",
    max_attempts: int = 8,
    timeout: float = 5.0,
    batch: int = 50,
    allow_private: bool = False,
    now: datetime | None = None,
) -> int:
    """Forward queued LINE webhook bodies unchanged with their X-Line-Signature; return how many arrived.
    A body an erasure rewrote has lost LINE's signature and is signed again with the channel secret.
    Stops at the first failure so bodies reach the other tool in the order LINE sent them."""
    clock = (lambda: now) if now else utcnow
    sender = _Sender(engine, clock, max_attempts, timeout, allow_private)
    started = clock()
    with session_scope(engine) as session:
        claimed = relay.claim_due(session, now=started, lease=LEASE, limit=batch)
    forwarded, stop_at = 0, None
    for index, (item_id, attempts, body, signature) in enumerate(claimed):
        raw = bytes(body)
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "X-Line-Signature": signature or relay.line_signature(channel_secret, raw),
        }
        outcome = sender.post(url, raw, headers)
        with session_scope(engine) as session:
            relay.record_attempt(
                session,
                item_id=item_id,
                attempts=attempts,
                now=clock(),
                status_code=outcome.status_code,
                error=outcome.failure,
                max_attempts=max_attempts,
            )
        if outcome.failure is not None:
            stop_at = index + 1
            log.warning("relay_failed id=%s status=%s error=%s", item_id, outcome.status_code, outcome.failure)
            break
        forwarded += 1
    if stop_at is not None and stop_at < len(claimed):
        with session_scope(engine) as session:  # the rest waits, uncounted
            relay.release(session, item_ids=[row[0] for row in claimed[stop_at:]], at=started)
    return forwarded


def link_click_events(engine: Engine, *, now: datetime | None = None) -> int:
    """Turn new clicks into link.clicked events (nothing but a cursor move when nobody subscribes)."""
    with session_scope(engine) as session:
        return webhook_events.emit_link_clicks(session, now=now or utcnow())


def _http_settings(app: Flask) -> dict:
    return {
        "max_attempts": app.config["WEBHOOK_MAX_ATTEMPTS"],
        "timeout": app.config["WEBHOOK_TIMEOUT_SECONDS"],
        "allow_private": bool(app.config.get("OUTBOUND_ALLOW_PRIVATE_TARGETS")),
    }


def webhooks_tick(app: Flask, engine: Engine, _line) -> None:
    """Outbound webhooks and link.clicked events."""
    link_click_events(engine)
    deliver_webhooks(engine, **_http_settings(app))


def relay_tick(app: Flask, engine: Engine, _line) -> None:
    """The LINE webhook relay, when configured (its own job: a slow relay target never delays the webhooks)."""
    if app.config.get("LINE_WEBHOOK_RELAY_URL"):
        forward_relay(
            engine,
            url=app.config["LINE_WEBHOOK_RELAY_URL"],
            channel_secret=app.config["LINE_CHANNEL_SECRET"],
            **_http_settings(app),
        )


def relay_prune_tick(app: Flask, engine: Engine, _line) -> None:
    """Delete relay items that failed for good more than RELAY_FAILED_RETENTION_DAYS ago."""
    with session_scope(engine) as session:
        relay.prune_failed(session, now=utcnow(), keep=timedelta(days=app.config["RELAY_FAILED_RETENTION_DAYS"]))


JOBS = (
    Job("webhooks", seconds=2, tick=webhooks_tick),
    # Bodies go out in LINE's order: one forwarder at a time (a second would skip the first's locked rows and
    # forward later bodies meanwhile).
    Job("relay", seconds=2, tick=relay_tick, exclusive=True),
    Job("relay_prune", seconds=3600, tick=relay_prune_tick, exclusive=True),
)
