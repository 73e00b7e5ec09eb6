"""Imports: CSV files of friends' tags, fields and notes (one job per file, applied in batches),
and LINE's followers ids (one job per import, page by page)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel

from crm.columns import utc_field
from crm.timeutil import utcnow


class ImportStatus(StrEnum):
    """Values of ImportJob.status."""

    UPLOADED = "uploaded"  # file checked and stored; columns not mapped yet
    MAPPED = "mapped"  # mapping saved and previewed (dry run); ready to apply
    APPLYING = "applying"  # some batches applied; next_row says where to continue
    DONE = "done"
    DISCARDED = "discarded"


class ImportJob(SQLModel, table=True):
    """An uploaded CSV (decoded text, kept until applied or discarded), its column mapping and progress."""

    __tablename__ = "import_job"

    id: int | None = Field(default=None, primary_key=True)
    filename: str = Field(max_length=255)
    encoding: str = Field(max_length=20)
    content: str | None = Field(default=None, sa_column=Column(Text))
    header: str = Field(sa_column=Column(Text, nullable=False))  # JSON list of column names
    mapping: str | None = Field(default=None, sa_column=Column(Text))  # JSON list, one target per column
    status: str = Field(default=ImportStatus.UPLOADED, max_length=12)
    total_rows: int = Field(default=0)
    next_row: int = Field(default=0)  # data rows (after the header) already applied or skipped
    applied_rows: int = Field(default=0)
    skipped_rows: int = Field(default=0)
    created_by: int | None = Field(default=None, foreign_key="staff.id", ondelete="SET NULL")
    created_at: datetime = utc_field(nullable=False, default_factory=utcnow)
    updated_at: datetime = utc_field(nullable=False, default_factory=utcnow)
    finished_at: datetime | None = utc_field()


class ImportState(StrEnum):
    """Values of FollowerImport.state."""

    RUNNING = "running"
    DONE = "done"
    FORBIDDEN = "forbidden"  # LINE refuses the followers API to this account
    FAILED = "failed"


class FollowerImport(SQLModel, table=True):
    """A run of the followers import: where it is (LINE's continuation token) and what it did so far."""

    __tablename__ = "follower_import"

    id: int | None = Field(default=None, primary_key=True)
    state: str = Field(default=ImportState.RUNNING, max_length=10)
    next_token: str | None = Field(default=None, max_length=500)
    pages: int = Field(default=0)
    ids_seen: int = Field(default=0)
    created: int = Field(default=0)
    failures: int = Field(default=0)  # consecutive failed calls (backoff grows with them)
    next_attempt_at: datetime | None = utc_field()
    last_error: str | None = Field(default=None, max_length=300)
    started_by: int | None = Field(default=None, foreign_key="staff.id", ondelete="SET NULL")
    started_at: datetime = utc_field(nullable=False, default_factory=utcnow)
    finished_at: datetime | None = utc_field()


class ImportedFriend(SQLModel, table=True):
    """A friend the followers import created (no follow event was seen for them)."""

    __tablename__ = "imported_friend"

    friend_id: int = Field(primary_key=True, foreign_key="friend.id", ondelete="CASCADE")
    import_id: int = Field(foreign_key="follower_import.id", ondelete="CASCADE", index=True)
    imported_at: datetime = utc_field(nullable=False, default_factory=utcnow)
