"""Bearer tokens for the REST API: created and revoked by admins, stored as a hash only."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlmodel import Field, SQLModel

from crm.models.base import utc_field
from crm.timeutil import utcnow


class ApiToken(SQLModel, table=True):
    """One integration's access to /api/v1 with a console role; the secret itself is never stored."""

    __tablename__ = "api_token"

    id: Optional[int] = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    role: str = Field(max_length=16)
    token_hash: str = Field(max_length=64, unique=True)  # SHA-256 hex of the secret
    prefix: str = Field(max_length=16)  # the first characters, shown so admins can tell tokens apart
    created_by: Optional[int] = Field(default=None, foreign_key="staff.id", ondelete="SET NULL")
    created_at: datetime = utc_field(nullable=False, default_factory=utcnow)
    last_used_at: Optional[datetime] = utc_field()
    revoked_at: Optional[datetime] = utc_field()
