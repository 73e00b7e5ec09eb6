"""Console users, their sign-in attempts, the audit log, and the API's bearer tokens (stored as a hash only)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, Text
from sqlmodel import Field, SQLModel

from crm.columns import utc_field
from crm.timeutil import utcnow


class Staff(SQLModel, table=True):
    """A person who signs in to the console, with one role."""

    __tablename__ = "staff"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254, unique=True)
    display_name: str = Field(max_length=100)
    password_hash: str = Field(max_length=255)
    role: str = Field(max_length=16)
    locale: str = Field(default="ja", max_length=8)
    active: bool = Field(default=True)
    session_version: int = Field(default=1)  # raised to end every session of this account (see crm.console.auth)
    created_at: datetime = utc_field(nullable=False, default_factory=utcnow)
    last_login_at: datetime | None = utc_field()


class LoginAttempt(SQLModel, table=True):
    """A failed sign-in, kept a day to throttle guessing per (email, client address) across all web processes."""

    __tablename__ = "login_attempt"
    __table_args__ = (
        Index("ix_login_attempt_email_ip_at", "email", "ip_address", "attempted_at"),
        Index("ix_login_attempt_at", "attempted_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254)
    ip_address: str = Field(max_length=64)
    attempted_at: datetime = utc_field(nullable=False, default_factory=utcnow)


class AuditEntry(SQLModel, table=True):
    """Who changed or viewed what, and when; never edited from the console."""

    __tablename__ = "audit_entry"
    __table_args__ = (Index("ix_audit_entry_at", "at"), Index("ix_audit_entry_target", "target_type", "target_id"))

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = utc_field(nullable=False, default_factory=utcnow)
    actor_staff_id: int | None = Field(default=None, foreign_key="staff.id", index=True)
    actor: str = Field(max_length=120)
    action: str = Field(max_length=60, index=True)
    target_type: str | None = Field(default=None, max_length=40)
    target_id: str | None = Field(default=None, max_length=64)
    before: str | None = Field(default=None, sa_column=Column(Text))
    after: str | None = Field(default=None, sa_column=Column(Text))


class ApiToken(SQLModel, table=True):
    """One integration's access to /api/v1 with a console role; the secret itself is never stored."""

    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    role: str = Field(max_length=16)
    token_hash: str = Field(max_length=64, unique=True)  # SHA-256 hex of the secret
    prefix: str = Field(max_length=16)  # the first characters, shown so admins can tell tokens apart
    created_by: int | None = Field(default=None, foreign_key="staff.id", ondelete="SET NULL")
    created_at: datetime = utc_field(nullable=False, default_factory=utcnow)
    last_used_at: datetime | None = utc_field()
    revoked_at: datetime | None = utc_field()
