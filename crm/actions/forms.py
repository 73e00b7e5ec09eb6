"""The console's editor of a list of actions (templates/actions/_editor.html): the inputs each kind asks for,
what the editor shows, and the submitted list parsed and validated.

Each row's fields are named `<name>-<row>-type` and `<name>-<row>-<kind>-<param>`; rows are read in the order
the browser submits them, so reordering rows in the page reorders the actions without renumbering."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from sqlmodel import Session, select

from crm.actions.engine import MAX_ACTIONS, validate_actions
from crm.actions.kinds import ATTENTION_STATES
from crm.actions.registry import kinds
from crm.errors import N_
from crm.fields.models import FieldDefinition
from crm.i18n import translate
from crm.tags.models import Tag

Options = Callable[[Session], list[tuple[str, str]]]


@dataclass(frozen=True)
class ParamInput:
    """One parameter of a kind as the editor asks for it: a select when `options` is given, else a text box."""

    name: str
    label: str  # N_() message id
    options: Options | None = None


_inputs: dict[str, tuple[ParamInput, ...]] = {}


def register_inputs(kind: str, *inputs: ParamInput) -> None:
    """Say which inputs the editor shows for a kind (a kind with none is offered with no parameters)."""
    _inputs[kind] = inputs


def tag_options(session: Session) -> list[tuple[str, str]]:
    return [(str(tag.id), tag.name) for tag in session.exec(select(Tag).order_by(Tag.name))]


def field_options(session: Session) -> list[tuple[str, str]]:
    query = select(FieldDefinition).order_by(FieldDefinition.position, FieldDefinition.id)
    return [(str(definition.id), definition.label) for definition in session.exec(query)]


def attention_options(_session: Session) -> list[tuple[str, str]]:
    return [(state, translate(label)) for state, label in ATTENTION_STATES.items()]


def register_core_inputs() -> None:
    """The inputs of the core kinds."""
    tag = ParamInput("tag_id", N_("Tag"), tag_options)
    register_inputs("add_tag", tag)
    register_inputs("remove_tag", tag)
    register_inputs(
        "set_field", ParamInput("field_id", N_("Friend field"), field_options), ParamInput("value", N_("Value"))
    )
    register_inputs("clear_field", ParamInput("field_id", N_("Friend field"), field_options))
    register_inputs("mark_attention", ParamInput("state", N_("Attention"), attention_options))


@dataclass(frozen=True)
class EditorInput:
    name: str
    label: str
    options: list[tuple[str, str]] | None


@dataclass(frozen=True)
class EditorKind:
    kind: str
    label: str
    inputs: list[EditorInput]


@dataclass(frozen=True)
class Editor:
    """What the macro renders: the kinds offered with their inputs, and the rows (actions) to show."""

    name: str
    kinds: list[EditorKind]
    rows: list[dict]
    max_rows: int = MAX_ACTIONS


def editor(session: Session, *, name: str = "actions", actions: list[dict] | None = None, only=None) -> Editor:
    """The editor for a list of actions, showing `actions` and one empty row (`only`: offer these kinds)."""
    offered = [kind for kind in kinds() if only is None or kind.kind in only]
    editor_kinds = [
        EditorKind(
            kind.kind,
            translate(kind.label),
            [
                EditorInput(item.name, translate(item.label), item.options(session) if item.options else None)
                for item in _inputs.get(kind.kind, ())
            ],
        )
        for kind in offered
    ]
    rows = [dict(action) for action in (actions or [])][:MAX_ACTIONS]
    if len(rows) < MAX_ACTIONS:
        rows.append({})
    return Editor(name, editor_kinds, rows)


def parse_actions(form, name: str = "actions") -> list[dict]:
    """The list submitted by the editor (not validated), rows in submission order, empty rows left out."""
    row_pattern = re.compile(rf"{re.escape(name)}-(\d+)-type")
    order = [match.group(1) for key in form.keys() if (match := row_pattern.fullmatch(key))]
    actions = []
    for row in order:
        kind = (form.get(f"{name}-{row}-type") or "").strip()
        if not kind:
            continue
        prefix = f"{name}-{row}-{kind}-"
        params = {key.removeprefix(prefix): form.get(key) for key in form.keys() if key.startswith(prefix)}
        actions.append({"type": kind, **params})
    return actions


def submitted_actions(session: Session, form, name: str = "actions") -> list[dict]:
    """The submitted list, validated (ActionError names the row at fault)."""
    return validate_actions(session, parse_actions(form, name))
