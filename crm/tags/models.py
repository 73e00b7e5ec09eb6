"""Tags (タグ) in folders, and the tags each friend holds."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from crm.columns import utc_field
from crm.timeutil import utcnow


class TagFolder(SQLModel, table=True):
    """A folder that groups tags."""

    __tablename__ = "tag_folder"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True)
    position: int = Field(default=0)


class Tag(SQLModel, table=True):
    """A label on friends; friend_count is kept by the tag services."""

    __tablename__ = "tag"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True)
    folder_id: int | None = Field(default=None, foreign_key="tag_folder.id", index=True)
    description: str | None = Field(default=None, max_length=500)
    color: str = Field(default="#06c755", max_length=7)
    friend_count: int = Field(default=0)
    created_at: datetime = utc_field(nullable=False, default_factory=utcnow)


class FriendTag(SQLModel, table=True):
    """A tag on a friend, with who or what added it."""

    __tablename__ = "friend_tag"
    __table_args__ = (Index("ix_friend_tag_tag_friend", "tag_id", "friend_id"),)

    friend_id: int = Field(foreign_key="friend.id", primary_key=True)
    tag_id: int = Field(foreign_key="tag.id", primary_key=True)
    added_at: datetime = utc_field(nullable=False, default_factory=utcnow)
    added_by: str = Field(max_length=120)
