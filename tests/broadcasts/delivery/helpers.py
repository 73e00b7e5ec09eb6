"""Shared helpers of the delivery tests: friends, fields and broadcasts stored directly."""

from __future__ import annotations

import json

from crm.broadcasts.models import Broadcast, BroadcastStatus
from crm.db import get_engine, session_scope
from crm.fields.models import FieldDefinition, FieldValue
from crm.friends.models import Friend

BASE = "https://crm.example.jp"


def line_id(n: int) -> str:
    return "U" + f"{n:x}".rjust(32, "0")


def make_friend(app, n: int = 1, name: str | None = "Sakura", **values) -> int:
    """Store a friend and return its id."""
    with session_scope(get_engine(app)) as session:
        friend = Friend(line_user_id=line_id(n), display_name=name, follow_count=1, **values)
        session.add(friend)
        session.flush()
        return friend.id


def make_field(app, key: str) -> int:
    with session_scope(get_engine(app)) as session:
        definition = FieldDefinition(key=key, label=key, field_type="text")
        session.add(definition)
        session.flush()
        return definition.id


def set_value(app, friend_id: int, field_id: int, value: str) -> None:
    with session_scope(get_engine(app)) as session:
        session.add(FieldValue(friend_id=friend_id, field_id=field_id, value=value, updated_by="test"))


def make_broadcast(app, messages: list[dict], **values) -> int:
    """Store a scheduled broadcast (send as soon as possible unless scheduled_at is given)."""
    values.setdefault("status", BroadcastStatus.SCHEDULED)
    values.setdefault("track_links", False)
    with session_scope(get_engine(app)) as session:
        broadcast = Broadcast(name="Sale", messages=json.dumps(messages, ensure_ascii=False), **values)
        session.add(broadcast)
        session.flush()
        return broadcast.id


def sim_friends(app, sim, count: int, *, name: str = "友だち") -> list[tuple[int, str]]:
    """Users of the simulator who follow the account, stored as friends: [(friend_id, line_user_id)]."""
    users = []
    for n in range(count):
        user_id = sim.create_user(f"{name}{n}")
        sim.follow(user_id)
        users.append(user_id)
    with session_scope(get_engine(app)) as session:
        friends = [
            Friend(line_user_id=user_id, display_name=f"{name}{n}", follow_count=1) for n, user_id in enumerate(users)
        ]
        session.add_all(friends)
        session.flush()
        return [(friend.id, friend.line_user_id) for friend in friends]


def broadcast_row(app, broadcast_id: int) -> Broadcast:
    with session_scope(get_engine(app)) as session:
        return session.get(Broadcast, broadcast_id)
