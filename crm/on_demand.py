"""A background thread started on demand: each wake-up asks for one more round of work; the thread runs rounds
until none is asked for, then ends (a later wake-up starts a new one). Used where a request's commit leaves work
that should start at once rather than at the worker's next tick (replies to send, webhook events to handle)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class OnDemandThread:
    """Runs `work_round()` in a thread of its own whenever woken; a failing round is logged under
    `failure_event` and the next wake-up tries again (the worker's jobs pick up whatever stays behind)."""

    def __init__(self, work_round: Callable[[], None], *, name: str, failure_event: str):
        self._work_round, self._name, self._failure_event = work_round, name, failure_event
        self._lock = threading.Lock()
        self._wanted = False
        self._thread: threading.Thread | None = None

    def wake(self) -> None:
        """Do a round now, in the background (a running thread makes one more)."""
        with self._lock:
            self._wanted = True
            if self._thread is None:
                self._thread = threading.Thread(target=self._drain, name=self._name, daemon=True)
                self._thread.start()

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until no round runs; whether that happened within `timeout` seconds (for tests)."""
        with self._lock:
            thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return not (thread and thread.is_alive())

    def _drain(self) -> None:
        while True:
            with self._lock:
                if not self._wanted:
                    self._thread = None
                    return
                self._wanted = False
            try:
                self._work_round()
            except Exception:  # noqa: BLE001 - logged; what stays behind waits for the next wake-up or the worker
                log.exception(self._failure_event)
