"""Shared helpers of the delivery tests: simulator users stored as friends, a broadcast read back."""

from __future__ import annotations

from crm.broadcasts.models import Broadcast
from crm.db import get_engine, session_scope
from crm.friends.models import Friend

BASE = "https://crm.example.jp"


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
