"""Shared steps of the webhook tests."""

from __future__ import annotations

import json

from sqlmodel import select

from crm.db import session_scope
from crm.outbound import outbox as webhook_outbox
from crm.outbound.models import WebhookDelivery


def add_endpoint(engine, url: str, events: list[str], *, active: bool = True) -> tuple[int, str]:
    """Register an endpoint; return (id, secret)."""
    with session_scope(engine) as session:
        endpoint = webhook_outbox.create_endpoint(
            session, url=url, events=events, description=None, staff_id=None, allow_private=True
        )
        endpoint.active = active
        return endpoint.id, endpoint.secret


def deliveries(engine) -> list[WebhookDelivery]:
    """Every outbox row, oldest first."""
    with session_scope(engine) as session:
        return list(session.exec(select(WebhookDelivery).order_by(WebhookDelivery.id)))


def events_of(engine, event_type: str | None = None) -> list[dict]:
    """The JSON documents queued, optionally of one type."""
    docs = [json.loads(row.body) for row in deliveries(engine)]
    return [doc for doc in docs if event_type in (None, doc["type"])]
