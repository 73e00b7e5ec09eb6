"""A controlled clock for code that takes a clock and a sleep (no real waiting in tests)."""

import threading


class ControlledClock:
    """A clock that moves only when someone "sleeps" on it (thread-safe)."""

    def __init__(self):
        self.now = 0.0
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds
