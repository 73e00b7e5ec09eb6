"""Outbound webhooks: endpoints, signing, and the outbox (one delivery row per event and endpoint).

Events are written in the caller's transaction, so an event exists exactly when the change that caused it
was committed. The worker delivers them later (crm/outbound/jobs.py); nothing here does network I/O.
Emitting costs no SQL when no active endpoint subscribes to the event: the subscriptions are cached per
database for SUBSCRIPTION_TTL seconds (other processes see a new endpoint within that time).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import delete, func
from sqlalchemy import event as sa_event
from sqlmodel import Session, select, update

from crm.errors import N_, TranslatableError
from crm.outbound.models import OutboxState, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from crm.timeutil import utcnow

EVENTS = (
    "friend.followed",
    "friend.blocked",
    "tag.added",
    "tag.removed",
    "survey.answered",
    "link.clicked",
    "broadcast.finished",
)
TEST_EVENT = "webhook.test"
SIGNATURE_HEADER = "X-CRM-Signature"
SUBSCRIPTION_TTL = 5.0
RETRY_BASE = timedelta(seconds=30)
RETRY_MAX = timedelta(hours=1)
RETENTION = timedelta(days=7)  # finished deliveries (and their attempts) are kept this long
URL_MAX_CHARS = 1000

_cache: dict[str, tuple[float, dict[str, tuple[int, ...]]]] = {}
_cache_lock = threading.Lock()


class WebhookError(TranslatableError):
    """An endpoint that cannot be saved, with a message for the admin."""


def sign(secret: str, body: bytes) -> str:
    """The X-CRM-Signature value: "sha256=" and the hex HMAC-SHA256 of the raw body keyed with the secret."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, signature: str) -> bool:
    """What a receiver does: recompute the signature and compare in constant time."""
    return hmac.compare_digest(sign(secret, body), signature or "")


def retry_delay(attempts: int) -> timedelta:
    """Wait before the next try after `attempts` failed ones: 30 s, 1 min, 2 min, … at most one hour."""
    return min(RETRY_BASE * (2 ** max(attempts - 1, 0)), RETRY_MAX)


# ---- subscriptions ----
def _cache_key(session: Session) -> str:
    return str(session.get_bind().url)


def forget_subscriptions(session: Session | None = None) -> None:
    """Drop the cached subscriptions (after endpoints change): now, and again when the change commits."""
    with _cache_lock:
        _cache.clear()
    if session is not None:
        sa_event.listen(session, "after_commit", lambda _s: forget_subscriptions(), once=True)


def subscribers(session: Session, event_type: str) -> tuple[int, ...]:
    """Ids of the active endpoints that want this event (from the cache when fresh)."""
    key = _cache_key(session)
    with _cache_lock:
        hit = _cache.get(key)
    if hit is None or time.monotonic() - hit[0] > SUBSCRIPTION_TTL:
        table: dict[str, list[int]] = {}
        for endpoint_id, events in session.exec(
            select(WebhookEndpoint.id, WebhookEndpoint.events).where(WebhookEndpoint.active)
        ):
            for name in events.split():
                table.setdefault(name, []).append(endpoint_id)
        hit = (time.monotonic(), {name: tuple(ids) for name, ids in table.items()})
        with _cache_lock:
            _cache[key] = hit
    return hit[1].get(event_type, ())


def wanted(session: Session, event_type: str) -> bool:
    """Whether any active endpoint subscribes to the event (cheap: usually no SQL)."""
    return bool(subscribers(session, event_type))


# ---- emitting ----
def body_for(event_id: str, event_type: str, created_at: datetime, data: dict) -> str:
    """The JSON document sent for an event (compact, UTF-8, keys sorted so it is stable)."""
    return json.dumps(
        {"id": event_id, "type": event_type, "created_at": created_at.isoformat(), "data": data},
        ensure_ascii=False,
        separators=(",", ":"),
        sort_keys=True,
        default=str,
    )


def emit(
    session: Session,
    event_type: str,
    data: dict | Callable[[], dict],
    *,
    endpoint_ids: tuple[int, ...] | None = None,
    now: datetime | None = None,
) -> int:
    """Queue an event for every subscribed endpoint in the caller's transaction; return rows written.

    `data` may be a callable so the payload is only built when someone subscribes."""
    targets = subscribers(session, event_type) if endpoint_ids is None else endpoint_ids
    if not targets:
        return 0
    now = now or utcnow()
    event_id = str(uuid.uuid4())
    body = body_for(event_id, event_type, now, data() if callable(data) else data)
    session.add_all(
        [
            WebhookDelivery(
                endpoint_id=endpoint_id,
                event_id=event_id,
                event_type=event_type,
                body=body,
                next_attempt_at=now,
                created_at=now,
            )
            for endpoint_id in targets
        ]
    )
    return len(targets)


def send_test(session: Session, *, endpoint_id: int) -> None:
    """Queue a webhook.test event for one endpoint (delivered by the worker like any other)."""
    emit(session, TEST_EVENT, {"message": "This is a test event from LINE CRM."}, endpoint_ids=(endpoint_id,))


# ---- endpoints ----
def check_url(url: str) -> str:
    """Return the URL if it can receive webhooks (http or https with a host); raise WebhookError."""
    url = (url or "").strip()
    if len(url) > URL_MAX_CHARS:
        raise WebhookError(N_("The URL is longer than %(limit)s characters."), limit=URL_MAX_CHARS)
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises ValueError for a bad port)
    except ValueError:
        raise WebhookError(N_("The URL is not valid.")) from None
    if parts.scheme not in ("http", "https") or not parts.hostname or any(ch.isspace() for ch in url):
        raise WebhookError(N_("The URL must start with https:// (or http://) and name a host."))
    return url


def check_events(events: list[str]) -> str:
    """The stored form of a set of event types; raise WebhookError when empty or unknown."""
    chosen = [name for name in EVENTS if name in set(events)]
    if not chosen or len(chosen) != len(set(events)):
        raise WebhookError(N_("Choose at least one event."))
    return " ".join(chosen)


def create_endpoint(
    session: Session, *, url: str, events: list[str], description: str | None, staff_id: int | None
) -> WebhookEndpoint:
    """Register an endpoint with a new random secret."""
    endpoint = WebhookEndpoint(
        url=check_url(url),
        events=check_events(events),
        created_by=staff_id,
        description=(description or "").strip()[:200] or None,
        secret="whsec_" + secrets.token_urlsafe(32),
    )
    session.add(endpoint)
    session.flush()
    forget_subscriptions(session)
    return endpoint


def update_endpoint(
    session: Session, endpoint: WebhookEndpoint, *, url: str, events: list[str], description: str | None, active: bool
) -> None:
    """Change an endpoint's URL, events, description or whether it is active."""
    endpoint.url, endpoint.events = check_url(url), check_events(events)
    endpoint.description, endpoint.active = (description or "").strip()[:200] or None, active
    session.add(endpoint)
    forget_subscriptions(session)


def delete_endpoint(session: Session, endpoint: WebhookEndpoint) -> None:
    """Delete an endpoint with its queued deliveries and attempts."""
    for table in (WebhookAttempt, WebhookDelivery):
        session.exec(table.__table__.delete().where(table.__table__.c.endpoint_id == endpoint.id))
    session.delete(endpoint)
    forget_subscriptions(session)


def list_endpoints(session: Session) -> list[WebhookEndpoint]:
    """Every endpoint, oldest first."""
    return list(session.exec(select(WebhookEndpoint).order_by(WebhookEndpoint.id)))


def recent_attempts(session: Session, endpoint_id: int, limit: int = 20) -> list[tuple[WebhookAttempt, str]]:
    """The endpoint's latest attempts with the event type of each, newest first."""
    query = (
        select(WebhookAttempt, WebhookDelivery.event_type)
        .join(WebhookDelivery, WebhookDelivery.id == WebhookAttempt.delivery_id)
        .where(WebhookAttempt.endpoint_id == endpoint_id)
        .order_by(WebhookAttempt.id.desc())
        .limit(limit)
    )
    return [tuple(row) for row in session.exec(query)]


def state_counts(session: Session, endpoint_id: int) -> dict[str, int]:
    """How many of the endpoint's deliveries are pending, delivered and failed."""
    query = (
        select(WebhookDelivery.state, func.count())
        .where(WebhookDelivery.endpoint_id == endpoint_id)
        .group_by(WebhookDelivery.state)
    )
    return dict(session.exec(query).all())


# ---- delivering (used by the worker) ----
def claim_due(session: Session, *, now: datetime, lease: timedelta, limit: int) -> list[tuple]:
    """Lease due deliveries of active endpoints: (delivery id, attempts, body, event id, type, endpoint id, url,
    secret)."""
    query = (
        select(
            WebhookDelivery.id,
            WebhookDelivery.attempts,
            WebhookDelivery.body,
            WebhookDelivery.event_id,
            WebhookDelivery.event_type,
            WebhookEndpoint.id,
            WebhookEndpoint.url,
            WebhookEndpoint.secret,
        )
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(
            WebhookDelivery.state == OutboxState.PENDING, WebhookDelivery.next_attempt_at <= now, WebhookEndpoint.active
        )
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=WebhookDelivery)
    rows = [tuple(row) for row in session.exec(query)]
    if rows:
        session.exec(
            update(WebhookDelivery)
            .where(WebhookDelivery.id.in_([r[0] for r in rows]))
            .values(next_attempt_at=now + lease)
        )
    return rows


def record_attempt(
    session: Session,
    *,
    delivery_id: int,
    endpoint_id: int,
    attempts: int,
    now: datetime,
    status_code: int | None,
    error: str | None,
    max_attempts: int,
) -> str:
    """Store one try and move the delivery on: delivered, retried later with backoff, or failed. Returns the
    new state."""
    ok = status_code is not None and 200 <= status_code < 300
    session.add(
        WebhookAttempt(
            endpoint_id=endpoint_id,
            delivery_id=delivery_id,
            attempted_at=now,
            status_code=status_code,
            error=(error or None) and error[:300],
            ok=ok,
        )
    )
    tried = attempts + 1
    if ok:
        values = {"state": OutboxState.DELIVERED, "finished_at": now, "next_attempt_at": None}
    elif tried >= max_attempts:
        values = {"state": OutboxState.FAILED, "finished_at": now, "next_attempt_at": None}
    else:
        values = {"next_attempt_at": now + retry_delay(tried)}
    session.exec(update(WebhookDelivery).where(WebhookDelivery.id == delivery_id).values(attempts=tried, **values))
    return values.get("state", OutboxState.PENDING)


def release(session: Session, *, delivery_ids: list[int], at: datetime) -> None:
    """Give leased deliveries back without counting a try (their endpoint was unreachable this tick)."""
    if delivery_ids:
        session.exec(update(WebhookDelivery).where(WebhookDelivery.id.in_(delivery_ids)).values(next_attempt_at=at))


def prune(session: Session, *, now: datetime, limit: int = 1000) -> int:
    """Delete up to `limit` deliveries finished more than RETENTION ago, with their attempts."""
    old = list(
        session.exec(select(WebhookDelivery.id).where(WebhookDelivery.finished_at < now - RETENTION).limit(limit))
    )
    if old:
        session.exec(delete(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(old)))
        session.exec(delete(WebhookDelivery).where(WebhookDelivery.id.in_(old)))
    return len(old)


def forget_friend(session: Session, *, line_user_id: str) -> int:
    """Erasure: delete queued and past deliveries and relayed bodies that name this LINE user; return rows."""
    from crm.outbound.models import RelayItem

    pattern = f'%"{line_user_id}"%'
    ids = list(session.exec(select(WebhookDelivery.id).where(WebhookDelivery.body.like(pattern))))
    if ids:
        session.exec(delete(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(ids)))
        session.exec(delete(WebhookDelivery).where(WebhookDelivery.id.in_(ids)))
    relayed = [item.id for item in session.exec(select(RelayItem)) if line_user_id.encode() in bytes(item.body)]
    if relayed:
        session.exec(delete(RelayItem).where(RelayItem.id.in_(relayed)))
    return len(ids) + len(relayed)
