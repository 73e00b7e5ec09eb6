"""Who answers a conversation: assigning it to a staff member who may reply, audited."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from crm.errors import N_, TranslatableError
from crm.inbox.models import Conversation
from crm.permissions import can
from crm.sql import insert_for
from crm.staff.audit import Actor, record
from crm.staff.models import Staff

ASSIGNED_ACTION = "chat.assigned"
REPLY_PERMISSION = "chat.send"


class AssignmentError(TranslatableError):
    """A conversation that cannot be given to this staff member."""


def assignable_staff(session: Session) -> list[Staff]:
    """Active staff members who may reply to friends, by name."""
    rows = session.exec(select(Staff).where(Staff.active).order_by(Staff.display_name, Staff.id)).all()
    return [staff for staff in rows if can(staff.role, REPLY_PERMISSION)]


def assign(session: Session, *, friend_id: int, staff_id: int | None, actor: Actor, at: datetime) -> bool:
    """Give the conversation to a staff member (None: to nobody); False when it already was theirs."""
    if staff_id is not None and staff_id not in {staff.id for staff in assignable_staff(session)}:
        raise AssignmentError(N_("Choose a staff member who can reply to friends."))
    table = Conversation.__table__
    session.connection().execute(
        insert_for(session, table)
        .values(friend_id=friend_id, last_incoming_id=0, last_read_message_id=0)
        .on_conflict_do_nothing()
    )
    conversation = session.exec(select(Conversation).where(Conversation.friend_id == friend_id).with_for_update()).one()
    if conversation.assigned_staff_id == staff_id:
        return False
    before = conversation.assigned_staff_id
    conversation.assigned_staff_id, conversation.assigned_at = staff_id, at if staff_id is not None else None
    session.add(conversation)
    record(
        session,
        actor=actor,
        action=ASSIGNED_ACTION,
        target_type="friend",
        target_id=friend_id,
        before={"assigned_staff_id": before},
        after={"assigned_staff_id": staff_id},
    )
    return True
