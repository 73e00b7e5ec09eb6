"""Outbound webhooks: endpoints, their subscriptions, and the outbox (one delivery row per event and endpoint).

Events are written in the caller's transaction, so an event exists exactly when the change that caused it
was committed. The worker delivers them later (crm/outbound/delivery.py, crm/outbound/jobs.py); nothing here
does network I/O.
Emitting costs no SQL when no active endpoint subscribes to the event: the subscriptions are cached per
database for SUBSCRIPTION_TTL seconds (other processes see a new endpoint within that time).
"""

from __future__ import annotations

import json
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import event as sa_event
from sqlalchemy import func
from sqlmodel import Session, select

from crm.errors import N_, TranslatableError
from crm.outbound import transport
from crm.outbound.models import CLICK_CURSOR, WebhookAttempt, WebhookCursor, WebhookDelivery, WebhookEndpoint
from crm.sql import insert_for
from crm.timeutil import utcnow
from crm.tracking.models import LinkClick

EVENTS = (
    "friend.followed",
    "friend.blocked",
    "tag.added",
    "tag.removed",
    "survey.answered",
    "link.clicked",
    "broadcast.finished",
    "scenario.enrolled",
    "scenario.exited",
    "scenario.goal_reached",
)
TEST_EVENT = "webhook.test"
SUBSCRIPTION_TTL = 5.0
URL_MAX_CHARS = 1000

_cache: dict[str, tuple[float, dict[str, tuple[int, ...]]]] = {}
_cache_lock = threading.Lock()


class WebhookError(TranslatableError):
    """An endpoint that cannot be saved, with a message for the admin."""


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
def check_url(url: str, *, allow_private: bool = False) -> str:
    """Return the URL if it can receive webhooks (http or https with a host that is, or resolves to, a public
    address unless `allow_private`); raise WebhookError."""
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
    problem = None if allow_private else transport.public_address_problem(url)
    if problem == transport.FORBIDDEN:
        raise WebhookError(N_("This URL points to this server or a private network; use a public address."))
    if problem == transport.UNRESOLVED:
        raise WebhookError(N_("The host name in this URL cannot be resolved. Check the spelling."))
    return url


def check_events(events: list[str]) -> str:
    """The stored form of a set of event types; raise WebhookError when empty or unknown."""
    chosen = [name for name in EVENTS if name in set(events)]
    if not chosen or len(chosen) != len(set(events)):
        raise WebhookError(N_("Choose at least one event."))
    return " ".join(chosen)


def create_endpoint(
    session: Session,
    *,
    url: str,
    events: list[str],
    description: str | None,
    staff_id: int | None,
    allow_private: bool = False,
) -> WebhookEndpoint:
    """Register an endpoint with a new random secret (`allow_private`: its URL may be a private address)."""
    endpoint = WebhookEndpoint(
        url=check_url(url, allow_private=allow_private),
        events=check_events(events),
        created_by=staff_id,
        description=(description or "").strip()[:200] or None,
        secret="whsec_" + secrets.token_urlsafe(32),
    )
    session.add(endpoint)
    session.flush()
    _start_click_cursor(session, endpoint.events)
    forget_subscriptions(session)
    return endpoint


def _start_click_cursor(session: Session, events: str) -> None:
    """A link.clicked subscription gets the clicks from now on. On a database whose worker has not read clicks
    yet there is no cursor, and the worker's first read would start at the newest click, passing those made
    since this subscription: start it here, at the newest click."""
    if "link.clicked" not in events.split() or session.get(WebhookCursor, CLICK_CURSOR) is not None:
        return
    newest = session.exec(select(func.max(LinkClick.id))).one() or 0
    statement = insert_for(session, WebhookCursor.__table__).values(name=CLICK_CURSOR, last_id=newest)
    session.exec(statement.on_conflict_do_nothing(index_elements=["name"]))


def update_endpoint(
    session: Session,
    endpoint: WebhookEndpoint,
    *,
    url: str,
    events: list[str],
    description: str | None,
    active: bool,
    allow_private: bool = False,
) -> None:
    """Change an endpoint's URL, events, description or whether it is active. An unchanged URL is not looked up
    again, so an endpoint whose host stopped resolving can still be paused (the worker checks every connection)."""
    if (url or "").strip() != endpoint.url:
        endpoint.url = check_url(url, allow_private=allow_private)
    endpoint.events = check_events(events)
    endpoint.description, endpoint.active = (description or "").strip()[:200] or None, active
    session.add(endpoint)
    _start_click_cursor(session, endpoint.events)
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
