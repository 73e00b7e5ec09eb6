"""Per-endpoint rate limiting over a sliding one-second window, as LINE limits per channel and endpoint."""

from __future__ import annotations

import fnmatch
import threading
import time
from collections import defaultdict, deque


class RateLimiter:
    """Counts each endpoint's requests in the last second against its limit."""

    def __init__(self, default_per_second: int | None = None):
        self._lock = threading.Lock()
        self.default = default_per_second
        self.overrides: dict[str, int | None] = {}  # endpoint pattern -> limit
        self._hits: dict[str, deque] = defaultdict(deque)

    def configure(self, per_second: int | None, endpoint: str | None = None) -> None:
        """Set the limit for every endpoint (no pattern) or for endpoints matching a pattern."""
        with self._lock:
            if endpoint in (None, "*"):
                self.default, self.overrides = per_second, {}
            else:
                self.overrides[endpoint] = per_second
            self._hits.clear()

    def limit_for(self, name: str) -> int | None:
        """The limit that applies to the endpoint with this short name."""
        for pattern, limit in self.overrides.items():
            if fnmatch.fnmatchcase(name, pattern):
                return limit
        return self.default

    def allow(self, key: str, name: str) -> bool:
        """Count a request to endpoint `key`; False when it is over the limit."""
        with self._lock:
            limit = self.limit_for(name)
            if limit is None:
                return True
            now = time.monotonic()
            hits = self._hits[key]
            while hits and now - hits[0] >= 1.0:
                hits.popleft()
            if len(hits) >= limit:
                return False
            hits.append(now)
            return True

    def to_dict(self) -> dict:
        """The limits as the control API shows them."""
        with self._lock:
            return {"perSecond": self.default, "endpoints": dict(self.overrides)}
