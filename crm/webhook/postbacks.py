"""Postback dispatch keyed by a prefix of `data`, so features plug in without touching the webhook."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from flask import Flask
from sqlmodel import Session

log = logging.getLogger(__name__)
REGISTRY_KEY = "crm_postbacks"


@dataclass
class PostbackContext:
    """What a postback handler gets: the open session, the friend and the postback."""

    session: Session
    friend_id: int
    line_user_id: str
    data: str
    params: dict
    reply_token: str | None
    occurred_at: datetime
    services: dict = field(default_factory=dict)
    event_key: str | None = None  # the webhook event's id: a handler's work is made idempotent by it


PostbackHandler = Callable[[PostbackContext], None]


class PostbackRegistry:
    """Maps `data` prefixes to handlers; the longest matching prefix wins."""

    def __init__(self) -> None:
        self._handlers: dict[str, PostbackHandler] = {}

    def register(self, prefix: str, handler: PostbackHandler) -> None:
        """Route postbacks whose data starts with prefix to handler."""
        if not prefix:
            raise ValueError("a postback prefix must not be empty")
        if prefix in self._handlers:
            raise ValueError(f"postback prefix {prefix!r} is already registered")
        self._handlers[prefix] = handler

    def find(self, data: str) -> PostbackHandler | None:
        """Return the handler for this data, if any."""
        matches = [prefix for prefix in self._handlers if data.startswith(prefix)]
        return self._handlers[max(matches, key=len)] if matches else None

    def dispatch(self, context: PostbackContext) -> bool:
        """Run the handler for the postback; return whether one handled it."""
        handler = self.find(context.data)
        if handler is None:
            log.info("postback_unhandled friend_id=%s", context.friend_id)
            return False
        handler(context)
        return True


def postback_registry(app: Flask) -> PostbackRegistry:
    """The app's postback registry (created on first use)."""
    return app.extensions.setdefault(REGISTRY_KEY, PostbackRegistry())
