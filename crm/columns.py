"""Shared column helpers for the tables."""

from __future__ import annotations

from sqlalchemy import Column
from sqlmodel import Field

from crm.timeutil import UTCDateTime


def utc_field(nullable: bool = True, index: bool = False, default_factory=None):
    """A UTC datetime column."""
    column = Column(UTCDateTime(), nullable=nullable, index=index)
    if default_factory is not None:
        return Field(default_factory=default_factory, sa_column=column)
    return Field(default=None, sa_column=column)
