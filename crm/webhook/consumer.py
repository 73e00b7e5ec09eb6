"""Queued handling: the events /callback stored and acknowledged are acted on right after, here.

Each web process has one consumer, a thread started on demand (after gunicorn's fork) and woken by every
acknowledgement: it takes the waiting events oldest first and hands each to `events.handle_stored_event`, which
marks it handled in the transaction of its effects. Of several consumers (web processes, the workers' sweep)
reaching one event, the first takes the row and the others wait for its commit, then find it handled; each goes
through the events in the order they were stored, so a friend's events are acted on in that order (an event
waits for the one before it). Answering LINE comes first: the web process's consumer takes its next event once
the process has answered no webhook for `QUIET_SECONDS`, or after `YIELD_SECONDS`. A database failure leaves
the event waiting: the round stops and the next wake-up, or the worker's sweep, tries again; after
`MAX_TRANSIENT_ATTEMPTS` in this process it is kept aside like a failing event. The worker's sweep
(`sweep_tick`) handles the events a web process acknowledged and then died without handling.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta

from flask import Flask
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from crm.db import get_engine, session_scope
from crm.jobs import Job
from crm.on_demand import OnDemandThread
from crm.timeutil import utcnow
from crm.webhook import event_store
from crm.webhook.events import handle_stored_event, set_aside
from crm.webhook.hooks import HOOKS_KEY, EventHooks
from crm.webhook.postbacks import REGISTRY_KEY, PostbackRegistry

log = logging.getLogger(__name__)
CONSUMER_KEY = "crm_webhook_consumer"
INLINE, QUEUED = "inline", "queued"
BATCH = 100
MAX_TRANSIENT_ATTEMPTS = 5
QUIET_SECONDS = 0.005  # no webhook answered for this long: the consumer takes the next event
YIELD_SECONDS = 1.0  # the longest the consumer waits for this process's answers to LINE before an event
SWEEP_AFTER = timedelta(seconds=5)  # an event waiting longer than this lost its web process's consumer


class TransientFailures:
    """How often each waiting event met a database failure in this process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[int, int] = {}

    def count(self, row_id: int) -> int:
        """Count one more failure; return the count so far."""
        with self._lock:
            self._counts[row_id] = self._counts.get(row_id, 0) + 1
            return self._counts[row_id]

    def forget(self, row_id: int) -> None:
        with self._lock:
            self._counts.pop(row_id, None)


_transient = TransientFailures()


def handle_waiting(
    engine: Engine,
    registry: PostbackRegistry,
    hooks: EventHooks | None = None,
    *,
    batch: int = BATCH,
    before_each: Callable[[], object] | None = None,
) -> int:
    """Handle the waiting events, oldest first, until none is left or the database fails; return how many this
    call acted on (another consumer's are not counted). `before_each` runs before each event (the web process's
    consumer lets the answers to LINE go first there)."""
    handled = 0
    while True:
        with session_scope(engine) as session:
            row_ids = event_store.waiting_ids(session, limit=batch)
        for row_id in row_ids:
            if before_each is not None:
                before_each()
            outcome = handle_stored_event(engine, row_id, registry, hooks)
            if outcome == "transient":
                if _transient.count(row_id) < MAX_TRANSIENT_ATTEMPTS:
                    return handled  # the next wake-up or sweep tries again
                _set_aside_after_failures(engine, row_id)
            _transient.forget(row_id)
            handled += outcome != "duplicate"
        if len(row_ids) < batch:
            return handled


def _set_aside_after_failures(engine: Engine, row_id: int) -> None:
    error = OperationalError("handling", {}, Exception(f"failed {MAX_TRANSIENT_ATTEMPTS} times in a row"))
    log.error("webhook_event row=%s status=failed transient_attempts=%s", row_id, MAX_TRANSIENT_ATTEMPTS)
    set_aside(engine, row_id=row_id, error=error)


class EventConsumer(OnDemandThread):
    """A web process's consumer: a thread started on demand that handles the waiting events and ends.

    LINE's answers go first: before each event the consumer waits until this process has answered no webhook
    for `QUIET_SECONDS` (at most `YIELD_SECONDS`), so a burst of webhooks is answered at the pace of storing
    them while the consumer takes an event every `YIELD_SECONDS`, and the rest once the burst ends."""

    def __init__(self, app: Flask):
        self._app = app
        super().__init__(self._handle_waiting, name="webhook-consumer", failure_event="webhook_consumer_failed")
        self._answers = threading.Condition(threading.Lock())
        self._answering = 0
        self._quiet_since = time.monotonic()

    @contextmanager
    def answering(self) -> Iterator[None]:
        """Mark a webhook being answered by this process (the consumer waits for it)."""
        with self._answers:
            self._answering += 1
        try:
            yield
        finally:
            with self._answers:
                self._answering -= 1
                if not self._answering:
                    self._quiet_since = time.monotonic()
                    self._answers.notify_all()

    def _let_answers_go_first(self) -> None:
        deadline = time.monotonic() + YIELD_SECONDS
        with self._answers:
            while (now := time.monotonic()) < deadline:
                quiet_for = now - self._quiet_since if not self._answering else 0.0
                if quiet_for >= QUIET_SECONDS:
                    return
                self._answers.wait(min(deadline, now + QUIET_SECONDS - quiet_for) - now)

    def _handle_waiting(self) -> None:  # on failure the events stay waiting; the worker's sweep handles them
        with self._app.app_context():  # handlers read the app's config and queue replies through it
            engine, registries = get_engine(self._app), _registries(self._app)
            handle_waiting(engine, *registries, before_each=self._let_answers_go_first)


def _registries(app: Flask) -> tuple[PostbackRegistry, EventHooks | None]:
    return app.extensions[REGISTRY_KEY], app.extensions.get(HOOKS_KEY)


def event_consumer(app: Flask) -> EventConsumer:
    """This process's consumer for the app (created on first use; a forked process makes its own)."""
    owner, consumer = app.extensions.get(CONSUMER_KEY, (None, None))
    if owner != os.getpid():
        consumer = EventConsumer(app)
        app.extensions[CONSUMER_KEY] = (os.getpid(), consumer)
    return consumer


def sweep(engine: Engine, registry: PostbackRegistry, hooks: EventHooks | None = None) -> int:
    """Handle the waiting events if the oldest has waited longer than SWEEP_AFTER (its web process died or
    its consumer failed); return how many were handled here."""
    try:
        with session_scope(engine) as session:
            oldest = event_store.oldest_waiting_since(session)
    except SQLAlchemyError:
        log.exception("webhook_sweep_failed")
        return 0
    if oldest is None or oldest > utcnow() - SWEEP_AFTER:
        return 0
    handled = handle_waiting(engine, registry, hooks)
    log.info("webhook_events_swept count=%s oldest=%s", handled, oldest)
    return handled


def sweep_tick(app: Flask, engine: Engine, _line) -> None:
    sweep(engine, *_registries(app))


# Any number of workers may sweep at once: each event is taken by one of them, in the order stored.
JOBS = (Job("webhook_sweep", seconds=2, tick=sweep_tick),)
