"""Saved message templates and the images uploaded for them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, LargeBinary, Text
from sqlmodel import Field, SQLModel

from crm.columns import utc_field
from crm.timeutil import utcnow


class MessageTemplate(SQLModel, table=True):
    """Up to 5 message objects in LINE's shape, reusable by broadcasts, scenario steps and automatic answers.

    Texts may hold `{name}` and `{field:key}`; links in texts are tracked per friend where the template is sent.
    """

    __tablename__ = "message_template"
    __table_args__ = (Index("ix_message_template_folder_name", "folder", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    folder: str | None = Field(default=None, max_length=100)
    messages: str = Field(sa_column=Column(Text, nullable=False))  # JSON list of 1-5 message objects
    archived: bool = Field(default=False)
    created_by: int | None = Field(default=None, foreign_key="staff.id", ondelete="SET NULL")
    created_at: datetime = utc_field(nullable=False, default_factory=utcnow)
    updated_at: datetime = utc_field(nullable=False, default_factory=utcnow)


class UploadedImage(SQLModel, table=True):
    """An image uploaded into the CRM for messages, served publicly at /media/<key>.<ext> (and its preview).

    Stored in the database, so every web process on every host serves it; `key` is the content's SHA-256, so
    the same file uploaded twice is one row and a public URL never changes its picture.
    """

    __tablename__ = "uploaded_image"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=64, unique=True)
    content_type: str = Field(max_length=20)  # image/jpeg or image/png
    width: int
    height: int
    size_bytes: int
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    preview: bytes = Field(sa_column=Column(LargeBinary, nullable=False))  # ≤ 240x240-ish, ≤ 1 MB
    original_name: str | None = Field(default=None, max_length=200)
    uploaded_by: int | None = Field(default=None, foreign_key="staff.id", ondelete="SET NULL")
    created_at: datetime = utc_field(nullable=False, default_factory=utcnow)
