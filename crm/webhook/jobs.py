"""The payload retention job: payloads are pruned after the retention period while each event's id row stays
for duplicate detection."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from flask import Flask
from sqlalchemy import true, update
from sqlalchemy.engine import Engine
from sqlmodel import select

from crm.db import session_scope
from crm.jobs import Job
from crm.timeutil import utcnow
from crm.webhook import failures
from crm.webhook.models import WebhookEvent

log = logging.getLogger(__name__)
PRUNED_PAYLOAD = '{"pruned": true}'
PRUNE_BATCH = 1000


def prune_payloads(engine: Engine, *, now: datetime, days: int, batch: int = PRUNE_BATCH) -> int:
    """Replace the payloads received more than `days` ago by a stub, in batches of their own transactions, and
    drop failures resolved that long ago; return payloads pruned. The event ids stay: LINE's redelivery of an
    old event is still recognised."""
    cutoff = now - timedelta(days=days)
    pruned = 0
    while True:
        with session_scope(engine) as session:
            ids = session.exec(
                select(WebhookEvent.id)
                .where(WebhookEvent.payload_kept == true(), WebhookEvent.received_at < cutoff)
                .order_by(WebhookEvent.received_at)
                .limit(batch)
            ).all()
            if ids:
                session.exec(
                    update(WebhookEvent)
                    .where(WebhookEvent.id.in_(ids))
                    .values(payload=PRUNED_PAYLOAD, payload_kept=False)
                )
        pruned += len(ids)
        if len(ids) < batch:
            break
    with session_scope(engine) as session:
        dropped = failures.delete_resolved_before(session, cutoff=cutoff)
    if pruned or dropped:
        log.info("webhook_payloads_pruned count=%s failures_dropped=%s cutoff=%s", pruned, dropped, cutoff)
    return pruned


def retention_tick(app: Flask, engine: Engine, _line) -> None:
    days = int(app.config["WEBHOOK_PAYLOAD_RETENTION_DAYS"])
    if days > 0:
        prune_payloads(engine, now=utcnow(), days=days)


# A sweep of the whole table: one worker at a time (two would update the same rows and wait on each other).
JOBS = (Job("webhook_payload_retention", seconds=3600, tick=retention_tick, exclusive=True),)
