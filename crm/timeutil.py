"""UTC storage and Asia/Tokyo display of times."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import DateTime
from sqlalchemy.types import TypeDecorator

TOKYO = ZoneInfo("Asia/Tokyo")


def utcnow() -> datetime:
    """Return the current time, aware, in UTC."""
    return datetime.now(UTC)


def from_line_timestamp(milliseconds: int | float | None) -> datetime:
    """Convert a LINE event timestamp (ms since epoch) to an aware UTC datetime."""
    if milliseconds is None:
        return utcnow()
    return datetime.fromtimestamp(milliseconds / 1000, tz=UTC)


def to_tokyo(value: datetime | None) -> datetime | None:
    """Return the time in Asia/Tokyo for display."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(TOKYO)


class UTCDateTime(TypeDecorator):
    """Store datetimes as UTC and always read them back as aware UTC datetimes."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use an aware UTC datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
