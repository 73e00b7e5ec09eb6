"""LINE API errors, importable by services without importing the SDK adapter."""

from __future__ import annotations


class LineApiError(Exception):
    """LINE answered with an error, or could not be reached."""

    def __init__(self, message: str, *, status: int | None = None, accepted_request_id: str | None = None):
        super().__init__(message)
        self.status = status
        self.accepted_request_id = accepted_request_id

    @property
    def retryable(self) -> bool:
        """Timeouts, connection errors, 5xx and plain rate limits can be retried with the same key."""
        if self.status is None or self.status >= 500:
            return True
        return self.status == 429 and not self.is_monthly_limit

    @property
    def is_monthly_limit(self) -> bool:
        """LINE's quota of messages for the month is used up."""
        return self.status == 429 and "monthly limit" in str(self).lower()

    @property
    def already_accepted(self) -> bool:
        """409 on a retry key: LINE accepted the request before; that is a success."""
        return self.status == 409


class LineCallInTransaction(RuntimeError):
    """A LINE call was made while this thread held an open database write transaction (raised where the app
    is set to refuse it: tests and development)."""
