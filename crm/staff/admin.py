"""Administering staff accounts: create, change role, deactivate, reactivate, reset password, all audited."""

from __future__ import annotations

from sqlmodel import Session, select

from crm.errors import N_
from crm.permissions import ROLES
from crm.staff import api_tokens
from crm.staff import service as staff_service
from crm.staff.audit import Actor, record
from crm.staff.models import Staff
from crm.staff.service import StaffError
from crm.timeutil import utcnow

ADMIN = "admin"


class StaffAccountError(StaffError):
    """A staff account change that cannot be done; `code` names the reason."""

    def __init__(self, code: str, msgid: str, **params):
        super().__init__(msgid, **params)
        self.code = code


def _invalid() -> StaffAccountError:
    """A value the account service refuses (the cause is chained): the console asks to check the form."""
    return StaffAccountError("invalid", N_("Check the form and try again."))


def _profile(staff: Staff) -> dict:
    """What the audit log keeps about an account (never the password or its hash)."""
    return {"email": staff.email, "display_name": staff.display_name, "role": staff.role, "active": staff.active}


def get_staff(session: Session, staff_id: int) -> Staff:
    """Return a staff account or raise StaffAccountError("not_found")."""
    staff = session.get(Staff, staff_id)
    if staff is None:
        raise StaffAccountError("not_found", N_("Staff %(id)s does not exist."), id=staff_id)
    return staff


def list_staff(session: Session) -> list[Staff]:
    """Every staff account, active ones first, by email."""
    return list(session.exec(select(Staff).order_by(Staff.active.desc(), Staff.email)).all())


def _other_active_admins(session: Session, staff_id: int) -> int:
    """Count the other active admins, locking their rows so two admins cannot remove each other at once."""
    query = select(Staff.id).where(Staff.role == ADMIN, Staff.active.is_(True), Staff.id != staff_id)
    return len(session.exec(query.with_for_update()).all())


def _guard_admin_loss(session: Session, staff: Staff, acting_staff_id: int | None) -> None:
    """Refuse to take admin rights from oneself or from the last active admin."""
    if staff.id == acting_staff_id:
        raise StaffAccountError("self", N_("You cannot deactivate or demote yourself."))
    if staff.role == ADMIN and staff.active and _other_active_admins(session, staff.id) == 0:
        raise StaffAccountError("last_admin", N_("The last active admin cannot be deactivated or demoted."))


def create_account(session: Session, *, email: str, display_name: str, role: str, password: str, actor: Actor) -> Staff:
    """Create a staff account with an initial password."""
    existing = select(Staff.id).where(Staff.email == staff_service.normalise_email(email))
    if session.exec(existing).first() is not None:
        raise StaffAccountError("duplicate_email", N_("A staff member with this email already exists."))
    try:
        staff = staff_service.create_staff(
            session, email=email, password=password, display_name=display_name, role=role
        )
    except StaffError as error:
        raise _invalid() from error
    record(session, actor=actor, action="staff.created", target_type="staff", target_id=staff.id, after=_profile(staff))
    return staff


def change_role(session: Session, *, staff_id: int, role: str, actor: Actor) -> Staff:
    """Give an account another role; an admin cannot demote themselves or the last admin."""
    staff = get_staff(session, staff_id)
    if role not in ROLES:
        raise _invalid()
    if role == staff.role:
        return staff
    if staff.role == ADMIN:
        _guard_admin_loss(session, staff, actor.staff_id)
    before = staff.role
    staff.role = role
    staff_service.end_sessions(staff)
    record(
        session,
        actor=actor,
        action="staff.role_changed",
        target_type="staff",
        target_id=staff.id,
        before={"role": before},
        after={"role": role},
    )
    return staff


def set_active(session: Session, *, staff_id: int, active: bool, actor: Actor) -> Staff:
    """Deactivate (signing the person out and revoking the API tokens they created, whose secrets they saw)
    or reactivate an account (revoked tokens stay revoked)."""
    staff = get_staff(session, staff_id)
    if staff.active == active:
        return staff
    if not active:
        _guard_admin_loss(session, staff, actor.staff_id)
    staff.active = active
    if not active:
        staff_service.end_sessions(staff)
        api_tokens.revoke_tokens_created_by(session, staff_id=staff.id, actor=actor, now=utcnow())
    action = "staff.reactivated" if active else "staff.deactivated"
    record(
        session,
        actor=actor,
        action=action,
        target_type="staff",
        target_id=staff.id,
        before={"active": not active},
        after={"active": active},
    )
    return staff


def reset_password(session: Session, *, staff_id: int, password: str, actor: Actor) -> Staff:
    """Set a new password for an account; the audit entry records only that it happened."""
    staff = get_staff(session, staff_id)
    try:
        staff_service.set_password(staff, password)
    except StaffError as error:
        raise _invalid() from error
    record(
        session,
        actor=actor,
        action="staff.password_reset",
        target_type="staff",
        target_id=staff.id,
        after={"email": staff.email},
    )
    return staff
