"""Staff accounts: creation, password check with argon2, and sign-in throttling."""

from __future__ import annotations

import functools
import secrets
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import Session, select

from crm.errors import N_, TranslatableError
from crm.permissions import ROLES
from crm.staff import throttle
from crm.staff.models import Staff

HASHER = PasswordHasher()
MIN_PASSWORD_LENGTH = 10


class StaffError(TranslatableError):
    """A staff operation that cannot be done, with a message for the user."""


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def create_staff(
    session: Session, *, email: str, password: str, display_name: str, role: str, locale: str = "ja"
) -> Staff:
    """Create a staff account with a hashed password."""
    email = normalise_email(email)
    if "@" not in email:
        raise StaffError(N_("Enter a valid email address."))
    if role not in ROLES:
        raise StaffError(N_("Unknown role %(role)s; choose one of %(roles)s."), role=role, roles=", ".join(ROLES))
    if len(password) < MIN_PASSWORD_LENGTH:
        raise StaffError(N_("A password needs at least %(min)d characters."), min=MIN_PASSWORD_LENGTH)
    if session.exec(select(Staff).where(Staff.email == email)).first():
        raise StaffError(N_("A staff member with this email already exists."))
    staff = Staff(
        email=email, password_hash=HASHER.hash(password), display_name=display_name or email, role=role, locale=locale
    )
    session.add(staff)
    session.flush()
    return staff


def set_password(staff: Staff, password: str) -> None:
    """Replace a staff member's password."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise StaffError(N_("A password needs at least %(min)d characters."), min=MIN_PASSWORD_LENGTH)
    staff.password_hash = HASHER.hash(password)
    end_sessions(staff)


def end_sessions(staff: Staff) -> None:
    """Make every signed-in session of this account invalid (the session cookie carries the version)."""
    staff.session_version = (staff.session_version or 0) + 1


def _verify(password_hash: str, password: str) -> bool:
    try:
        return HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@functools.cache
def _dummy_hash(hasher: PasswordHasher) -> str:
    """A hash made with the current settings, checked when no account matches so that an unknown email costs
    the same time as a known one."""
    return hasher.hash(secrets.token_urlsafe(16))


def authenticate(session: Session, *, email: str, password: str, ip_address: str, now: datetime) -> Staff | None:
    """Return the active staff member for these credentials, recording failures for throttling."""
    email = normalise_email(email)
    staff = session.exec(select(Staff).where(Staff.email == email)).first()
    valid = _verify(staff.password_hash if staff is not None else _dummy_hash(HASHER), password)
    if not (valid and staff.active):
        throttle.record_failure(session, email=email, ip_address=ip_address, now=now)
        return None
    if HASHER.check_needs_rehash(staff.password_hash):
        staff.password_hash = HASHER.hash(password)
    staff.last_login_at = now
    throttle.clear_failures(session, email=email, ip_address=ip_address)
    return staff
