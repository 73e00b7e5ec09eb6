"""Custom fields (友だち情報): definitions and typed values, validated here for every edge."""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import delete, func
from sqlmodel import Session, select

from crm.errors import N_, TranslatableError
from crm.fields.models import FieldDefinition, FieldType, FieldValue
from crm.permissions import masks_personal_data
from crm.staff.audit import Actor, record
from crm.timeutil import utcnow

KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,49}$")
NUMBER_RE = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MAX_TEXT = 1000
MAX_NUMBER_CHARS = 40
MAX_CHOICES = 100
MAX_CHOICE_CHARS = 100


class FieldValidationError(TranslatableError):
    """A value or definition that cannot be accepted; msgid and params let the edge translate it."""


@dataclass(frozen=True)
class FieldSpec:
    """What an admin sets on a field definition."""

    key: str
    label: str
    field_type: str
    choices: tuple[str, ...] = ()
    required: bool = False
    position: int = 0
    personal: bool = False


def hidden_from(definition: FieldDefinition, role: str | None) -> bool:
    """Whether this role sees the field's values masked: a personal field, a role without personal-data access."""
    return bool(definition.personal) and masks_personal_data(role)


def choices_of(definition: FieldDefinition) -> list[str]:
    """The choices of a single-choice field (stored as a JSON list)."""
    return json.loads(definition.choices) if definition.choices else []


def canonical_value(definition: FieldDefinition, raw: str | None) -> str:
    """Validate a raw value for this field's type and return its canonical text form."""
    text = (raw or "").strip()
    if not text:
        raise FieldValidationError(N_("%(label)s: enter a value."), label=definition.label)
    kind = definition.field_type
    if kind == FieldType.NUMBER:
        return _number(definition, unicodedata.normalize("NFKC", text).replace(" ", ""))
    if kind == FieldType.DATE:
        return _date(definition, unicodedata.normalize("NFKC", text))
    if kind == FieldType.CHOICE:
        if text not in choices_of(definition):
            raise FieldValidationError(
                N_("%(label)s: choose one of %(choices)s."),
                label=definition.label,
                choices=", ".join(choices_of(definition)),
            )
        return text
    if len(text) > MAX_TEXT:
        raise FieldValidationError(
            N_("%(label)s: use at most %(max)d characters (now %(count)d)."),
            label=definition.label,
            max=MAX_TEXT,
            count=len(text),
        )
    return text


def _number(definition: FieldDefinition, text: str) -> str:
    if not NUMBER_RE.match(text) or len(text) > MAX_NUMBER_CHARS:
        raise FieldValidationError(N_("%(label)s: enter a number such as 42, -3 or 1.5."), label=definition.label)
    number = Decimal(text)
    return "0" if number == 0 else format(number.normalize(), "f")


def _date(definition: FieldDefinition, text: str) -> str:
    if not DATE_RE.match(text):
        raise FieldValidationError(
            N_("%(label)s: enter a date as YYYY-MM-DD, such as 2024-04-01."), label=definition.label
        )
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise FieldValidationError(
            N_("%(label)s: %(value)s is not a real date."), label=definition.label, value=text
        ) from None


def get_definition(session: Session, field_id: int) -> FieldDefinition:
    """The field definition with this id, or a FieldValidationError."""
    definition = session.get(FieldDefinition, field_id)
    if definition is None:
        raise FieldValidationError(N_("This field no longer exists."))
    return definition


def set_field_value(
    session: Session, *, friend_id: int, field_id: int, raw_value: str | None, actor: Actor
) -> FieldValue:
    """Validate and store a friend's value for a field (audited with before/after)."""
    definition = get_definition(session, field_id)
    value = canonical_value(definition, raw_value)
    row = session.get(FieldValue, (friend_id, field_id))
    before = None if row is None else row.value
    if row is None:
        row = FieldValue(friend_id=friend_id, field_id=field_id, value=value, updated_by=actor.label[:120])
        session.add(row)
    elif row.value == value:
        return row
    row.value, row.updated_at, row.updated_by = value, utcnow(), actor.label[:120]
    record(
        session,
        actor=actor,
        action="field.set",
        target_type="friend",
        target_id=friend_id,
        before={"field": definition.key, "value": before},
        after={"field": definition.key, "value": value},
    )
    return row


def clear_field_value(session: Session, *, friend_id: int, field_id: int, actor: Actor) -> bool:
    """Remove a friend's value (not allowed for required fields); return False if there was none."""
    definition = get_definition(session, field_id)
    row = session.get(FieldValue, (friend_id, field_id))
    if row is None:
        return False
    if definition.required:
        raise FieldValidationError(N_("%(label)s is required and cannot be emptied."), label=definition.label)
    record(
        session,
        actor=actor,
        action="field.cleared",
        target_type="friend",
        target_id=friend_id,
        before={"field": definition.key, "value": row.value},
        after={"field": definition.key, "value": None},
    )
    session.delete(row)
    return True


def list_definitions(session: Session) -> list[FieldDefinition]:
    """All field definitions in display order."""
    return list(session.exec(select(FieldDefinition).order_by(FieldDefinition.position, FieldDefinition.id)).all())


def values_for_friend(session: Session, *, friend_id: int) -> list[tuple[FieldDefinition, FieldValue | None]]:
    """Every defined field with this friend's value (None when unset), in display order."""
    values = {v.field_id: v for v in session.exec(select(FieldValue).where(FieldValue.friend_id == friend_id))}
    return [(definition, values.get(definition.id)) for definition in list_definitions(session)]


def value_counts(session: Session) -> dict[int, int]:
    """How many friends have a value, per field id."""
    rows = session.exec(select(FieldValue.field_id, func.count()).group_by(FieldValue.field_id)).all()
    return dict(rows)


def _check_spec(session: Session, spec: FieldSpec, field_id: int | None) -> None:
    if not KEY_RE.match(spec.key):
        raise FieldValidationError(N_("Key: use lowercase letters, digits and _, starting with a letter (at most 50)."))
    label = spec.label.strip()
    if not label or len(label) > 100:
        raise FieldValidationError(N_("Label: enter 1 to 100 characters."))
    if spec.field_type not in tuple(FieldType):
        raise FieldValidationError(N_("Type: choose text, number, date or single choice."))
    clash = session.exec(select(FieldDefinition.id).where(FieldDefinition.key == spec.key)).first()
    if clash is not None and clash != field_id:
        raise FieldValidationError(N_("Key: %(key)s is already used by another field."), key=spec.key)
    if spec.field_type == FieldType.CHOICE:
        _check_choices(spec.choices)


def _check_choices(choices: tuple[str, ...]) -> None:
    if not choices:
        raise FieldValidationError(N_("Choices: enter at least one choice, one per line."))
    if len(choices) > MAX_CHOICES or any(len(c) > MAX_CHOICE_CHARS for c in choices):
        raise FieldValidationError(
            N_("Choices: at most %(count)d choices of at most %(chars)d characters."),
            count=MAX_CHOICES,
            chars=MAX_CHOICE_CHARS,
        )
    if len(set(choices)) != len(choices):
        raise FieldValidationError(N_("Choices: each choice must be different."))


def _snapshot(definition: FieldDefinition) -> dict:
    return {
        "key": definition.key,
        "label": definition.label,
        "type": definition.field_type,
        "choices": choices_of(definition),
        "required": definition.required,
        "position": definition.position,
        "personal": definition.personal,
    }


def _apply(definition: FieldDefinition, spec: FieldSpec) -> None:
    definition.key, definition.label, definition.field_type = spec.key, spec.label.strip(), spec.field_type
    is_choice = spec.field_type == FieldType.CHOICE
    definition.choices = json.dumps(list(spec.choices), ensure_ascii=False) if is_choice else None
    definition.required, definition.position = spec.required, spec.position
    definition.personal = spec.personal


def create_definition(session: Session, *, spec: FieldSpec, actor: Actor) -> FieldDefinition:
    """Define a new field (audited)."""
    _check_spec(session, spec, None)
    definition = FieldDefinition(key=spec.key, label=spec.label, field_type=spec.field_type)
    _apply(definition, spec)
    session.add(definition)
    session.flush()
    record(
        session,
        actor=actor,
        action="field.defined",
        target_type="field",
        target_id=definition.id,
        after=_snapshot(definition),
    )
    return definition


def update_definition(session: Session, *, field_id: int, spec: FieldSpec, actor: Actor) -> FieldDefinition:
    """Change a field; its type cannot change and choices in use cannot go while friends have values."""
    definition = get_definition(session, field_id)
    _check_spec(session, spec, field_id)
    values = select(func.count()).select_from(FieldValue).where(FieldValue.field_id == field_id)
    if spec.field_type != definition.field_type and session.exec(values).one():
        raise FieldValidationError(
            N_(
                "Type: friends already have values for this field, so its type cannot "
                "change. Create a new field instead."
            )
        )
    if definition.field_type == FieldType.CHOICE:
        dropped = set(choices_of(definition)) - set(spec.choices)
        in_use = session.exec(values.where(FieldValue.value.in_(sorted(dropped)))).one() if dropped else 0
        if in_use:
            raise FieldValidationError(
                N_("Choices: %(count)d friends have a choice you removed; change their values first."), count=in_use
            )
    before = _snapshot(definition)
    _apply(definition, spec)
    _record_change(session, definition, before=before, actor=actor)
    return definition


def delete_definition(session: Session, *, field_id: int, actor: Actor) -> int:
    """Delete a field and every friend's value for it (audited); return how many values went."""
    definition = get_definition(session, field_id)
    removed = session.exec(delete(FieldValue).where(FieldValue.field_id == field_id)).rowcount
    record(
        session,
        actor=actor,
        action="field.definition_deleted",
        target_type="field",
        target_id=field_id,
        before={**_snapshot(definition), "values": removed},
    )
    session.delete(definition)
    return removed


def mark_personal(session: Session, *, field_id: int, actor: Actor) -> bool:
    """Mark a text field personal because friends' free text is copied into it (audited); False when it
    already was, or is not a text field."""
    definition = get_definition(session, field_id)
    if definition.personal or definition.field_type != FieldType.TEXT:
        return False
    before = _snapshot(definition)
    definition.personal = True
    _record_change(session, definition, before=before, actor=actor)
    return True


def _record_change(session: Session, definition: FieldDefinition, *, before: dict, actor: Actor) -> None:
    """Audit a change of a field definition, with its state before and after."""
    record(
        session,
        actor=actor,
        action="field.definition_changed",
        target_type="field",
        target_id=definition.id,
        before=before,
        after=_snapshot(definition),
    )
