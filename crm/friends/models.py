"""Friends, their conversation and the notes staff keep on them."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, Index, Text
from sqlmodel import Field, SQLModel

from crm.columns import utc_field
from crm.errors import N_
from crm.timeutil import utcnow

ERASED_PREFIX = "erased:"  # an erased friend's line_user_id: this prefix and a random value


class FriendStatus(StrEnum):
    """Values of Friend.status."""

    FOLLOWING = "following"
    BLOCKED = "blocked"
    ERASED = "erased"  # personal data erased on request: the LINE user id is forgotten, nothing can be sent


# Each status in words (msgids: translate where shown).
STATUS_WORDS = {
    FriendStatus.FOLLOWING: N_("Following"),
    FriendStatus.BLOCKED: N_("Blocked"),
    FriendStatus.ERASED: N_("Erased"),
}


class Friend(SQLModel, table=True):
    """A LINE user who added the account (友だち); only what LINE gives us."""

    __tablename__ = "friend"
    __table_args__ = (  # covering indexes of the friend list's keyset sorts
        Index("ix_friend_last_followed", "last_followed_at", "id", "last_interaction_at", "status"),
        Index("ix_friend_last_interaction", "last_interaction_at", "id", "last_followed_at", "status"),
        Index("ix_friend_blocked_at", "blocked_at", "status"),  # blocks per day (the dashboard), index-only
        # checks on given friends (segments' status and times, sorting a small driving set), index-only
        Index("ix_friend_id_checks", "id", "status", "last_followed_at", "last_interaction_at"),
        Index("ix_friend_attention", "attention"),  # the attention count and filters
    )

    id: int | None = Field(default=None, primary_key=True)
    line_user_id: str = Field(max_length=64, unique=True)
    display_name: str | None = Field(default=None, max_length=200)
    # The staff's reading of the name (ふりがな), in search form (crm.friends.search_key.reading_form); the name
    # search index (migration 0035) covers it.
    reading: str | None = Field(default=None, max_length=100)
    picture_url: str | None = Field(default=None, max_length=1000)
    language: str | None = Field(default=None, max_length=20)
    status_message: str | None = Field(default=None, max_length=1000)
    status: str = Field(default=FriendStatus.FOLLOWING, max_length=16)
    follow_count: int = Field(default=0)
    first_followed_at: datetime | None = utc_field()
    last_followed_at: datetime | None = utc_field()
    blocked_at: datetime | None = utc_field()
    last_interaction_at: datetime | None = utc_field()
    profile_fetched_at: datetime | None = utc_field()
    profile_fetch_due_at: datetime | None = utc_field(index=True)
    profile_fetch_attempts: int = Field(default=0)
    # Staff attention mark (対応マーク): None, "needed" (要対応), "in_progress" (対応中) or "done" (対応済).
    attention: str | None = Field(default=None, max_length=12)
    created_at: datetime = utc_field(nullable=False, default_factory=utcnow)


class MessageDirection(StrEnum):
    """Values of Message.direction."""

    INCOMING = "in"
    OUTGOING = "out"


class Message(SQLModel, table=True):
    """One message of a friend's conversation, incoming or outgoing."""

    __tablename__ = "message"
    __table_args__ = (
        Index("ix_message_friend_created", "friend_id", "created_at"),
        Index("uq_message_retry_key", "retry_key", unique=True),
        # The dashboard's messages received today: a range of this index, not a walk of every message.
        Index("ix_message_created_direction", "created_at", "direction"),
    )

    id: int | None = Field(default=None, primary_key=True)
    friend_id: int = Field(foreign_key="friend.id")
    direction: str = Field(max_length=3)
    message_type: str = Field(max_length=20)
    text: str | None = Field(default=None, sa_column=Column(Text))  # a text's body; a file's name
    file_size: int | None = Field(default=None)  # a file's size in bytes, as LINE gave it
    duration_ms: int | None = Field(default=None)  # a video's or voice message's length, as LINE gave it
    line_message_id: str | None = Field(default=None, max_length=64, index=True)
    webhook_event_id: str | None = Field(default=None, max_length=64)
    sent_via: str | None = Field(default=None, max_length=16)
    staff_id: int | None = Field(default=None)  # a console reply's sender (a plain id: written on the hot path)
    unsent: bool = Field(default=False)
    # The X-Line-Retry-Key of a console push: stored with the message, so one key is one message.
    retry_key: str | None = Field(default=None, max_length=36)
    created_at: datetime = utc_field(nullable=False, default_factory=utcnow)


class Note(SQLModel, table=True):
    """Free text on a friend written by staff."""

    __tablename__ = "note"
    __table_args__ = (Index("ix_note_friend_created", "friend_id", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    friend_id: int = Field(foreign_key="friend.id")
    author_staff_id: int | None = Field(default=None, foreign_key="staff.id")
    body: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = utc_field(nullable=False, default_factory=utcnow)
    updated_at: datetime | None = utc_field()
