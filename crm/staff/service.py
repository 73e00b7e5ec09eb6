"""Staff accounts: creation, password check with argon2, and sign-in throttling."""

from __future__ import annotations

from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, or_
from sqlmodel import Session, select

from crm.errors import N_, TranslatableError
from crm.permissions import ROLES
from crm.staff.models import LoginAttempt, Staff
from crm.timeutil import utcnow

HASHER = PasswordHasher()
THROTTLE_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_EMAIL = 5
MAX_FAILURES_PER_IP = 20
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


def is_throttled(session: Session, *, email: str, ip_address: str) -> bool:
    """Too many recent failures for this email or from this address."""
    since = utcnow() - THROTTLE_WINDOW
    recent = select(func.count()).select_from(LoginAttempt).where(LoginAttempt.attempted_at >= since)
    by_email = session.exec(recent.where(LoginAttempt.email == normalise_email(email))).one()
    by_ip = session.exec(recent.where(LoginAttempt.ip_address == ip_address)).one()
    return by_email >= MAX_FAILURES_PER_EMAIL or by_ip >= MAX_FAILURES_PER_IP


def authenticate(session: Session, *, email: str, password: str, ip_address: str) -> Staff | None:
    """Return the active staff member for these credentials, recording failures for throttling."""
    email = normalise_email(email)
    staff = session.exec(select(Staff).where(Staff.email == email)).first()
    valid = False
    if staff is not None and staff.active:
        try:
            valid = HASHER.verify(staff.password_hash, password)
        except (VerificationError, InvalidHashError):
            valid = False
    if not valid:
        session.add(LoginAttempt(email=email, ip_address=ip_address))
        return None
    if HASHER.check_needs_rehash(staff.password_hash):
        staff.password_hash = HASHER.hash(password)
    staff.last_login_at = utcnow()
    session.exec(delete(LoginAttempt).where(or_(LoginAttempt.email == email)))
    return staff
