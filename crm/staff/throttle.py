"""Sign-in throttling per (email, client address): after a few failures each next try waits longer.

A person who mistypes is slowed only where they mistype: the right password from another address still works,
and nobody is locked out of their own account by someone else's guessing."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func
from sqlmodel import Session, select

from crm.staff.models import LoginAttempt

FREE_FAILURES = 5  # failures before the first wait
FIRST_DELAY = timedelta(seconds=30)  # then the wait doubles with each further failure
MAX_DELAY = timedelta(minutes=15)
RETENTION = timedelta(hours=24)  # failures older than this are forgotten and deleted


def delay_after(failures: int) -> timedelta:
    """How long to wait after the last of this many failures before the next try."""
    if failures < FREE_FAILURES:
        return timedelta(0)
    doublings = min(failures - FREE_FAILURES, 16)
    return min(FIRST_DELAY * 2**doublings, MAX_DELAY)


def wait_before_next_try(session: Session, *, email: str, ip_address: str, now: datetime) -> timedelta | None:
    """The time left before this address may try this email again, or None when it may try now."""
    failures, last_failure = session.exec(
        select(func.count(), func.max(LoginAttempt.attempted_at)).where(
            LoginAttempt.email == email,
            LoginAttempt.ip_address == ip_address,
            LoginAttempt.attempted_at >= now - RETENTION,
        )
    ).one()
    if not failures:
        return None
    left = last_failure + delay_after(failures) - now  # max() keeps the column's type: an aware UTC time
    return left if left > timedelta(0) else None


def record_failure(session: Session, *, email: str, ip_address: str, now: datetime) -> None:
    """Remember a failed sign-in, and forget the ones too old to count."""
    session.exec(delete(LoginAttempt).where(LoginAttempt.attempted_at < now - RETENTION))
    session.add(LoginAttempt(email=email, ip_address=ip_address, attempted_at=now))


def clear_failures(session: Session, *, email: str, ip_address: str) -> None:
    """Forget this address's failures for this email after it signed in (others' failures still count)."""
    session.exec(delete(LoginAttempt).where(LoginAttempt.email == email, LoginAttempt.ip_address == ip_address))
