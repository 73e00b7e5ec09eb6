"""The inbox's own state of a conversation: who it is assigned to and how far it has been read."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, text
from sqlmodel import Field, SQLModel

from crm.columns import utc_field
from crm.friends.models import Message

# Unread counts (incoming messages after the read marker) and the read marker's target (the newest incoming
# message) are read per friend from this index alone. It belongs to the message table but only the inbox needs
# it, so it is declared here.
MESSAGE_LATEST_INDEX = Index(
    "ix_message_friend_direction_id",
    Message.__table__.c.friend_id,
    Message.__table__.c.direction,
    Message.__table__.c.id,
)
# The conversations waiting to be read, newest first: the unread filter walks only these (a few thousand at most)
# instead of every conversation until it has found a page of them.
UNREAD = text("last_incoming_id > last_read_message_id")


class Conversation(SQLModel, table=True):
    """One friend's conversation as the team handles it: where it stands in the list, how far it has been read,
    who answers it. One row per friend with messages (`crm.inbox.sync` keeps the latest ids up to date).

    The read marker is shared by the team, not kept per staff member: a shop answers its LINE account together,
    and once anyone has opened a conversation it no longer waits for someone (as in LINE's own chat screen)."""

    __tablename__ = "conversation"
    __table_args__ = (
        Index("ix_conversation_assigned", "assigned_staff_id", "friend_id"),
        Index("ix_conversation_last_message", "last_message_id"),
        Index("ix_conversation_unread", "last_message_id", sqlite_where=UNREAD, postgresql_where=UNREAD),
    )

    friend_id: int = Field(foreign_key="friend.id", primary_key=True)
    last_message_id: int | None = Field(default=None)  # the newest message, either way (the list's order)
    last_incoming_id: int = Field(default=0)  # the newest message from the friend
    last_read_message_id: int = Field(default=0)  # incoming messages with a higher id are unread
    read_at: datetime | None = utc_field()
    assigned_staff_id: int | None = Field(default=None, foreign_key="staff.id")
    assigned_at: datetime | None = utc_field()
