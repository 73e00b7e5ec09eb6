"""Helpers for broadcast tests: a database session, friends, staff and broadcasts inserted directly."""

from __future__ import annotations

import json
from contextlib import contextmanager
from datetime import UTC, datetime

from crm.broadcasts.models import Broadcast, BroadcastRecipient, BroadcastStatus
from crm.db import get_engine, session_scope
from crm.friends.models import Friend, FriendStatus
from crm.staff.audit import Actor
from crm.staff.service import create_staff

T0 = datetime(2026, 3, 1, 1, 0, tzinfo=UTC)  # 10:00 in Tokyo
TEXT = [{"type": "text", "text": "Hello {name}"}]


@contextmanager
def db(app):
    """A committing session on the app's database."""
    with session_scope(get_engine(app)) as session:
        yield session


def add_friends(session, count: int, *, prefix: str = "U", status: str = FriendStatus.FOLLOWING) -> list[int]:
    """Insert friends and return their ids."""
    friends = [
        Friend(line_user_id=f"{prefix}{index:032x}", display_name=f"Friend {index}", status=status)
        for index in range(count)
    ]
    session.add_all(friends)
    session.flush()
    return [friend.id for friend in friends]


def add_staff(session, role: str, email: str) -> Actor:
    """A staff member as an audit actor."""
    staff = create_staff(
        session, email=email, password="correct horse battery", display_name=role, role=role, locale="en"
    )
    return Actor.staff(staff.id, staff.email)


def add_broadcast(
    session, *, status: str = BroadcastStatus.DRAFT, created_by: int | None = None, **fields
) -> Broadcast:
    """A broadcast row written directly (no validation), for lifecycle and statistics tests."""
    broadcast = Broadcast(
        name=fields.pop("name", "Spring sale"),
        messages=json.dumps(TEXT),
        status=status,
        created_by=created_by,
        **fields,
    )
    session.add(broadcast)
    session.flush()
    return broadcast


def add_recipients(session, broadcast_id: int, friend_ids, state: str, *, sent_at=None, error=None) -> None:
    """Snapshot rows in one state."""
    session.add_all(
        [
            BroadcastRecipient(
                broadcast_id=broadcast_id, friend_id=friend_id, state=state, sent_at=sent_at, error=error
            )
            for friend_id in friend_ids
        ]
    )
    session.flush()
