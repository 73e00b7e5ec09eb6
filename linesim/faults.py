"""Fault injection: make chosen endpoints fail or stall on demand."""

from __future__ import annotations

import fnmatch
import threading
from dataclasses import dataclass

KINDS = ("error", "stall", "stall_error")


@dataclass
class Fault:
    """One rule: requests matching `endpoint` fail (error), answer late (stall) or fail late (stall_error)."""

    endpoint: str
    kind: str = "error"
    count: int | None = 1  # requests left to hit; None = until cleared
    stall_seconds: float = 0.0
    status: int = 500

    def matches(self, name: str, path: str) -> bool:
        """Match the short endpoint name (e.g. "push") or the path against the pattern."""
        return fnmatch.fnmatchcase(name, self.endpoint) or fnmatch.fnmatchcase(path, self.endpoint)

    def to_dict(self) -> dict:
        """The rule as the control API shows it."""
        return {
            "endpoint": self.endpoint,
            "kind": self.kind,
            "count": self.count,
            "stallSeconds": self.stall_seconds,
            "status": self.status,
        }


def fault_from_json(data: dict) -> Fault:
    """Build a rule from control-API JSON; ValueError when it makes no sense."""
    kind = data.get("kind", "error")
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}")
    count = data.get("count", 1)
    if count is not None and (not isinstance(count, int) or count < 1):
        raise ValueError("count must be a positive integer or null (until cleared)")
    stall = float(data.get("stallSeconds", 0))
    status = int(data.get("status", 500))
    if stall < 0 or not 400 <= status <= 599:
        raise ValueError("stallSeconds must be >= 0 and status an HTTP error status")
    return Fault(str(data.get("endpoint", "*")), kind, count, stall, status)


class FaultTable:
    """The active rules; the first matching rule applies to a request and is used up by it."""

    def __init__(self):
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> None:
        """Activate a rule."""
        with self._lock:
            self._faults.append(fault)

    def clear(self) -> None:
        """Drop every rule."""
        with self._lock:
            self._faults.clear()

    def take(self, name: str, path: str) -> Fault | None:
        """The rule for this request, counting it against the rule's remaining requests."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(name, path):
                    if fault.count is not None:
                        fault.count -= 1
                        if fault.count == 0:
                            self._faults.remove(fault)
                    return fault
        return None

    def to_list(self) -> list[dict]:
        """The active rules as JSON."""
        with self._lock:
            return [fault.to_dict() for fault in self._faults]
