"""A token bucket that keeps this process's calls to one LINE endpoint under LINE's per-channel rate limit.

Threads share it: each call takes a token, waiting (without holding the lock) until one is there. The clock and
the sleep are given, so tests drive it with a controlled clock. (pyrate-limiter was weighed: its sliding-window
log sleeps through the time module and runs a leak thread, which a controlled clock cannot drive.)
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

EPSILON = 1e-9  # a token refilled to within rounding error counts as whole (else a wait could be too short to add)


class TokenBucket:
    """`rate` tokens a second, at most `burst` saved up; `take()` blocks until a token is free."""

    def __init__(
        self,
        rate: float,
        *,
        burst: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        if rate <= 0:
            raise ValueError("a token bucket needs a positive rate")
        self.rate = float(rate)
        self.burst = float(burst if burst is not None else max(1, int(rate / 10)))
        self._clock, self._sleep = clock, sleep
        self._lock = threading.Lock()
        self._tokens = self.burst
        self._updated = clock()

    def take(self) -> float:
        """Take one token, waiting for it if the bucket is empty; return the seconds waited."""
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate)
                self._updated = now
                if self._tokens >= 1 - EPSILON:
                    self._tokens = max(self._tokens - 1, 0.0)
                    return waited
                delay = (1 - self._tokens) / self.rate
            self._sleep(delay)
            waited += delay
