"""Tags (タグ) in folders, notes (メモ), and custom fields (友だち情報)."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import Column, Index, Text
from sqlmodel import Field, SQLModel

from crm.models.base import utc_field
from crm.timeutil import utcnow


class TagFolder(SQLModel, table=True):
    """A folder that groups tags."""

    __tablename__ = "tag_folder"

    id: Optional[int] = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True)
    position: int = Field(default=0)


class Tag(SQLModel, table=True):
    """A label on friends; friend_count is kept by the tag services."""

    __tablename__ = "tag"

    id: Optional[int] = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True)
    folder_id: Optional[int] = Field(default=None, foreign_key="tag_folder.id", index=True)
    description: Optional[str] = Field(default=None, max_length=500)
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


class Note(SQLModel, table=True):
    """Free text on a friend written by staff."""

    __tablename__ = "note"
    __table_args__ = (Index("ix_note_friend_created", "friend_id", "created_at"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    friend_id: int = Field(foreign_key="friend.id")
    author_staff_id: Optional[int] = Field(default=None, foreign_key="staff.id")
    body: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = utc_field(nullable=False, default_factory=utcnow)
    updated_at: Optional[datetime] = utc_field()


class FieldType:
    """Values of FieldDefinition.field_type."""

    TEXT = "text"
    NUMBER = "number"
    DATE = "date"
    CHOICE = "choice"
    ALL = (TEXT, NUMBER, DATE, CHOICE)


class FieldDefinition(SQLModel, table=True):
    """A custom attribute admins define for friends."""

    __tablename__ = "field_definition"

    id: Optional[int] = Field(default=None, primary_key=True)
    key: str = Field(max_length=50, unique=True)
    label: str = Field(max_length=100)
    field_type: str = Field(max_length=10)
    choices: Optional[str] = Field(default=None, sa_column=Column(Text))
    required: bool = Field(default=False)
    position: int = Field(default=0)
    created_at: datetime = utc_field(nullable=False, default_factory=utcnow)


class FieldValue(SQLModel, table=True):
    """A friend's value for a custom field, stored as text in a canonical form."""

    __tablename__ = "field_value"
    __table_args__ = (Index("ix_field_value_field_value", "field_id", "value", "friend_id"),)  # covering (0014)

    friend_id: int = Field(foreign_key="friend.id", primary_key=True)
    field_id: int = Field(foreign_key="field_definition.id", primary_key=True)
    value: str = Field(max_length=1000)
    updated_at: datetime = utc_field(nullable=False, default_factory=utcnow)
    updated_by: str = Field(max_length=120)
