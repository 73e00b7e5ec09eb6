"""The chat page's forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlmodel import Session
from wtforms import SelectField

from crm.inbox.assignment import assignable_staff

NOBODY = 0


class AssignForm(FlaskForm):
    staff_id = SelectField(_l("Assigned to"), coerce=int, choices=[])


def staff_choices(session: Session) -> list[tuple[int, str]]:
    """Nobody, then each staff member who may reply."""
    return [(NOBODY, _l("Nobody")), *((staff.id, staff.display_name) for staff in assignable_staff(session))]
