"""The reading of a friend's name (ふりがな) staff store so that name search finds 「さとう」 where LINE gives
only 「佐藤」: kept in search form (crm.friends.search_key.reading_form), audited."""

from __future__ import annotations

from sqlmodel import Session

from crm.errors import N_, TranslatableError
from crm.friends.search_key import READING_MAX_CHARS, reading_form
from crm.friends.service import lock_living_friend
from crm.staff.audit import Actor, record

AUDIT_ACTION = "friend.reading"


class ReadingError(TranslatableError):
    """A reading that cannot be stored."""


def clean_reading(text: str | None) -> str | None:
    """The reading as it is stored (search form; None for an empty one), or ReadingError when too long."""
    reading = reading_form(text) or None
    if reading is not None and len(reading) > READING_MAX_CHARS:
        raise ReadingError(N_("The reading is longer than %(limit)s characters."), limit=READING_MAX_CHARS)
    return reading


def set_reading(session: Session, *, friend_id: int, text: str | None, actor: Actor) -> bool:
    """Store the friend's reading (empty: none); return whether it changed. FriendErasedError for an erased
    friend, ReadingError when too long, ValueError when there is no such friend."""
    reading = clean_reading(text)
    friend = lock_living_friend(session, friend_id=friend_id)
    if friend is None:
        raise ValueError(f"no friend {friend_id}")
    if friend.reading == reading:
        return False
    record(
        session,
        actor=actor,
        action=AUDIT_ACTION,
        target_type="friend",
        target_id=friend_id,
        before={"reading": friend.reading},
        after={"reading": reading},
    )
    friend.reading = reading
    session.add(friend)
    session.flush()
    return True
