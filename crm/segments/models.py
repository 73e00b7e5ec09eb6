"""Saved segments (絞り込み): a named condition tree."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel

from crm.columns import utc_field
from crm.timeutil import utcnow


class Segment(SQLModel, table=True):
    """A saved condition tree (JSON, see crm.segments.service) that marketers reuse."""

    __tablename__ = "segment"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True)
    description: str | None = Field(default=None, max_length=500)
    tree: str = Field(sa_column=Column(Text, nullable=False))
    created_by: int | None = Field(default=None, foreign_key="staff.id", ondelete="SET NULL")
    created_at: datetime = utc_field(nullable=False, default_factory=utcnow)
    updated_at: datetime = utc_field(nullable=False, default_factory=utcnow)
