"""Custom fields (友だち情報): definitions and typed values per friend."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, Index, Text
from sqlmodel import Field, SQLModel

from crm.columns import utc_field
from crm.timeutil import utcnow


class FieldType(StrEnum):
    """Values of FieldDefinition.field_type."""

    TEXT = "text"
    NUMBER = "number"
    DATE = "date"
    CHOICE = "choice"


class FieldDefinition(SQLModel, table=True):
    """A custom attribute admins define for friends."""

    __tablename__ = "field_definition"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=50, unique=True)
    label: str = Field(max_length=100)
    field_type: str = Field(max_length=10)
    choices: str | None = Field(default=None, sa_column=Column(Text))
    required: bool = Field(default=False)
    # Personal data (an address, a phone number): masked for roles without personal-data access and kept
    # out of their segment conditions.
    personal: bool = Field(default=False)
    position: int = Field(default=0)
    created_at: datetime = utc_field(nullable=False, default_factory=utcnow)


class FieldValue(SQLModel, table=True):
    """A friend's value for a custom field, stored as text in a canonical form."""

    __tablename__ = "field_value"
    __table_args__ = (Index("ix_field_value_field_value", "field_id", "value", "friend_id"),)  # covering: segments

    friend_id: int = Field(foreign_key="friend.id", primary_key=True)
    field_id: int = Field(foreign_key="field_definition.id", primary_key=True)
    value: str = Field(max_length=1000)
    updated_at: datetime = utc_field(nullable=False, default_factory=utcnow)
    updated_by: str = Field(max_length=120)
