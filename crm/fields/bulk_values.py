"""Saving several of one friend's field values at once (the friend page's one Save button)."""

from __future__ import annotations

from sqlmodel import Session

from crm.errors import N_
from crm.fields.models import FieldValue
from crm.fields.service import (
    FieldValidationError,
    canonical_value,
    clear_field_value,
    get_definition,
    hidden_from,
    set_field_value,
)
from crm.staff.audit import Actor


class FieldErrors(FieldValidationError):
    """Some values were refused; `problems` maps each refused field id to its error. Nothing was saved."""

    def __init__(self, problems: dict[int, FieldValidationError]):
        first = next(iter(problems.values()))
        super().__init__(first.msgid, **first.params)
        self.problems = problems


def save_values(session: Session, *, friend_id: int, raw: dict[int, str], role: str | None, actor: Actor) -> int:
    """Store the values that changed (empty clears); all or nothing. Return how many fields changed.

    Fields the role may not see (personal data) are left alone whatever the form holds.
    """
    problems: dict[int, FieldValidationError] = {}
    changes: list[tuple[int, str | None]] = []
    for field_id, text in raw.items():
        try:
            definition = get_definition(session, field_id)
            if hidden_from(definition, role):
                continue
            stored = session.get(FieldValue, (friend_id, field_id))
            wanted = canonical_value(definition, text) if text.strip() else None
            if wanted is None and stored is not None and definition.required:
                raise FieldValidationError(N_("%(label)s is required and cannot be emptied."), label=definition.label)
        except FieldValidationError as error:
            problems[field_id] = error
            continue
        if wanted != (stored.value if stored else None):
            changes.append((field_id, wanted))
    if problems:
        raise FieldErrors(problems)
    for field_id, wanted in changes:
        if wanted is None:
            clear_field_value(session, friend_id=friend_id, field_id=field_id, actor=actor)
        else:
            set_field_value(session, friend_id=friend_id, field_id=field_id, raw_value=wanted, actor=actor)
    return len(changes)
