"""The test-friend list: friends (staff's own LINE accounts) that receive broadcasts' test sends."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from crm.broadcasts.models import TestFriend
from crm.broadcasts.options import BroadcastError
from crm.errors import N_
from crm.friends.models import Friend, FriendStatus
from crm.friends.pages import friend_page
from crm.friends.query import FriendFilter
from crm.staff.audit import Actor, record


def listing(session: Session) -> list[tuple[TestFriend, Friend]]:
    """Every test friend with its friend row, by label."""
    query = (
        select(TestFriend, Friend)
        .join(Friend, Friend.id == TestFriend.friend_id)
        .order_by(TestFriend.label, TestFriend.friend_id)
    )
    return list(session.exec(query).all())


def ids(session: Session) -> list[int]:
    """Ids of the test friends who still follow the account (a test send goes to them)."""
    query = (
        select(TestFriend.friend_id)
        .join(Friend, Friend.id == TestFriend.friend_id)
        .where(Friend.status == FriendStatus.FOLLOWING)
        .order_by(TestFriend.friend_id)
    )
    return list(session.exec(query).all())


def candidates(session: Session, *, search: str, now: datetime, limit: int = 20) -> list[Friend]:
    """Following friends whose name matches (the friend list's search), not on the test list yet."""
    if not search.strip():
        return []
    page = friend_page(session, FriendFilter(search=search.strip(), status=FriendStatus.FOLLOWING), now=now, size=limit)
    listed = set(ids(session))
    return [friend for friend in page.friends if friend.id not in listed]


def is_tester(session: Session, friend_id: int) -> bool:
    """Whether the friend is on the test list."""
    return session.get(TestFriend, friend_id) is not None


def add(session: Session, *, actor: Actor, friend_id: int, label: str | None) -> TestFriend:
    """Put a friend on the test list (refused for an unknown friend or one already there)."""
    if session.get(Friend, friend_id) is None:
        raise BroadcastError(N_("No friend has this ID."), field="friend_id")
    if session.get(TestFriend, friend_id) is not None:
        raise BroadcastError(N_("This friend is already a test friend."), field="friend_id")
    entry = TestFriend(friend_id=friend_id, label=(label or "").strip()[:100] or None, added_by=actor.staff_id)
    session.add(entry)
    record(
        session,
        actor=actor,
        action="broadcast.test_friend_add",
        target_type="friend",
        target_id=friend_id,
        after={"label": entry.label},
    )
    return entry


def remove(session: Session, *, actor: Actor, friend_id: int) -> None:
    """Take a friend off the test list (nothing happens if it is not there)."""
    entry = session.get(TestFriend, friend_id)
    if entry is not None:
        session.delete(entry)
        record(
            session,
            actor=actor,
            action="broadcast.test_friend_remove",
            target_type="friend",
            target_id=friend_id,
            before={"label": entry.label},
        )
