"""The LINE Messaging API adapter: the only module that imports linebot.v3.messaging."""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass

from linebot.v3.messaging import (
    ApiClient,
    ApiException,
    Configuration,
    MessagingApi,
    PushMessageRequest,
    ReplyMessageRequest,
    TextMessage,
)
from urllib3.exceptions import HTTPError as Urllib3Error

from crm.services.friends import Profile

log = logging.getLogger(__name__)
REAL_LINE_HOST = "https://api.line.me"


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


@dataclass(frozen=True)
class Quota:
    """The month's message quota and usage."""

    limited: bool
    limit: int | None
    used: int

    @property
    def remaining(self) -> int | None:
        return None if self.limit is None else max(self.limit - self.used, 0)


class LineClient:
    """Calls to LINE with short timeouts; errors become LineApiError."""

    def __init__(self, *, api_base: str, access_token: str, timeout: float = 5.0):
        host = api_base.rstrip("/")
        configuration = Configuration(host=None if host == REAL_LINE_HOST else host, access_token=access_token)
        self._api = MessagingApi(ApiClient(configuration))
        self._timeout = (min(timeout, 3.0), timeout)

    def get_profile(self, user_id: str) -> Profile | None:
        """Return the user's profile, or None when LINE answers 404 (blocked, no consent, unknown)."""
        try:
            profile = self._call(self._api.get_profile, user_id)
        except LineApiError as error:
            if error.status == 404:
                return None
            raise
        return Profile(display_name=profile.display_name, picture_url=profile.picture_url,
                       language=profile.language, status_message=profile.status_message)

    def push_text(self, user_id: str, text: str, *, retry_key: str) -> None:
        """Push one text message; a 409 for our own retry key counts as sent."""
        request = PushMessageRequest(to=user_id, messages=[TextMessage(text=text)])
        try:
            self._call(self._api.push_message, request, x_line_retry_key=retry_key)
        except LineApiError as error:
            if not error.already_accepted:
                raise

    def reply_text(self, reply_token: str, texts: list[str]) -> None:
        """Reply with up to five text messages."""
        request = ReplyMessageRequest(reply_token=reply_token, messages=[TextMessage(text=t) for t in texts])
        self._call(self._api.reply_message, request)

    def get_quota(self) -> Quota:
        """Return the month's quota and usage (LINE's usage figure is approximate)."""
        quota = self._call(self._api.get_message_quota)
        used = self._call(self._api.get_message_quota_consumption).total_usage
        limited = quota.type == "limited"
        return Quota(limited=limited, limit=quota.value if limited else None, used=used)

    def _call(self, method, *args, **kwargs):
        try:
            return method(*args, _request_timeout=self._timeout, **kwargs)
        except ApiException as error:
            raise _api_error(error) from error
        except (Urllib3Error, OSError) as error:
            raise LineApiError(f"LINE API unreachable: {type(error).__name__}") from error


def _api_error(error: ApiException) -> LineApiError:
    """Turn the SDK's exception into ours, keeping LINE's message."""
    message = error.reason or "LINE API error"
    try:
        body = json.loads(error.body or "{}")
        message = body.get("message") or message
    except (TypeError, ValueError):
        pass
    headers = error.headers or {}
    accepted = headers.get("x-line-accepted-request-id") or headers.get("X-Line-Accepted-Request-Id")
    return LineApiError(message, status=error.status, accepted_request_id=accepted)
