"""Hooks features register for a friend's text messages and blocks, so the core never imports a feature."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from flask import Flask
from sqlmodel import Session

HOOKS_KEY = "crm_event_hooks"


@dataclass
class TextContext:
    """A text message a friend sent, after the core stored it; handlers share the event's open session."""

    session: Session
    friend_id: int
    line_user_id: str
    text: str
    reply_token: str | None
    occurred_at: datetime
    event_key: str


@dataclass
class BlockContext:
    """A friend blocked the account (unfollow), after the core marked them blocked."""

    session: Session
    friend_id: int
    occurred_at: datetime


TextHandler = Callable[[TextContext], bool]
BlockHandler = Callable[[BlockContext], None]


class EventHooks:
    """Text handlers run in registration order until one returns True (it consumed the message);
    block handlers all run."""

    def __init__(self) -> None:
        self._text: list[TextHandler] = []
        self._block: list[BlockHandler] = []

    def on_text(self, handler: TextHandler) -> None:
        """Run handler for each text message a friend sends."""
        self._text.append(handler)

    def on_block(self, handler: BlockHandler) -> None:
        """Run handler when a friend blocks the account."""
        self._block.append(handler)

    def text_received(self, context: TextContext) -> bool:
        """Offer the message to each handler; return whether one consumed it."""
        return any(handler(context) for handler in self._text)

    def blocked(self, context: BlockContext) -> None:
        """Tell every block handler."""
        for handler in self._block:
            handler(context)


def event_hooks(app: Flask) -> EventHooks:
    """The app's hooks (created on first use)."""
    return app.extensions.setdefault(HOOKS_KEY, EventHooks())
