"""Helpers for the inbox tests: messages written straight into the conversation, and the talk view as shown."""

from __future__ import annotations

import re
from datetime import datetime

from crm.db import get_engine, session_scope
from crm.friends.models import Message, MessageDirection

ITEM = re.compile(r'<li class="talk-item talk-(\w+) talk-source-([\w-]+)" data-key="([^"]+)">(.*?)</li>', re.S)
ROW = re.compile(r'<li class="conversation-row[^"]*" data-friend="(\d+)">(.*?)</li>', re.S)
UNREAD = re.compile(r'<span class="unread-count"[^>]*>(\d+)</span>')


def add_message(app, friend_id: int, text: str, *, at: datetime, incoming: bool = True, **values) -> int:
    """Store one message of the conversation; return its id."""
    with session_scope(get_engine(app)) as session:
        message = Message(
            friend_id=friend_id,
            direction=MessageDirection.INCOMING if incoming else MessageDirection.OUTGOING,
            message_type=values.pop("message_type", "text"),
            text=text,
            created_at=at,
            **values,
        )
        session.add(message)
        session.flush()
        return message.id


def talk_items(html: str) -> list[tuple[str, str, str, str]]:
    """(side, source, key, inner HTML) of each talk item, in page order."""
    return ITEM.findall(html)


def listed(html: str) -> list[tuple[int, int]]:
    """(friend id, unread count) of each conversation row, in page order."""
    rows = []
    for friend_id, inner in ROW.findall(html):
        unread = UNREAD.search(inner)
        rows.append((int(friend_id), int(unread.group(1)) if unread else 0))
    return rows
