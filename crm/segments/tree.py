"""Segment condition trees (絞り込み条件): parse, check and normalise the JSON a segment is stored as.

The format is described in docs/segments.md. `validate` returns a normalised copy (only known keys, ids as
ints, field values in their canonical form, times as ISO strings with an offset) or raises SegmentError with
the path of the first bad part, e.g. "conditions[2].value".
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal

from sqlalchemy import column, select, table
from sqlmodel import Session

from crm.broadcasts.models import Broadcast
from crm.errors import N_, TranslatableError
from crm.fields.models import FieldDefinition, FieldType
from crm.fields.service import FieldValidationError, canonical_value
from crm.friends.attention import CLEAR, STATES
from crm.friends.models import FriendStatus
from crm.segments.registry import condition_kind
from crm.tags.models import Tag
from crm.timeutil import TOKYO
from crm.tracking.models import TrackedLink

MAX_DEPTH = 5
MAX_LEAVES = 50
MAX_NODES = 100  # groups and conditions together: empty groups cost SQL too
MAX_DAYS = 36500
MAX_JSON_CHARS = 100_000
GROUPS = ("all", "any", "not")
ATTENTION_VALUES = (*STATES, CLEAR)  # the staff attention mark, or "none" for no mark
LEAVES = (
    "tag",
    "field",
    "answer",
    "clicked_link",
    "clicked_broadcast",
    "followed",
    "followed_within",
    "interaction",
    "status",
    "attention",
    "route",
)
# Which comparisons each field type allows; dates and numbers compare by value (see segment_sql).
FIELD_OPS = {
    FieldType.TEXT: ("eq", "ne", "contains", "empty"),
    FieldType.CHOICE: ("eq", "ne", "empty"),
    FieldType.NUMBER: ("eq", "ne", "lt", "gt", "empty"),
    FieldType.DATE: ("eq", "ne", "lt", "gt", "empty"),
}
# Survey tables belong to the `surveys` package, which crm never imports (ARCHITECTURE): the table names
# and columns are the contract, read through lightweight references.
MISSING = {
    "tag_id": N_("Tag %(id)s does not exist."),
    "link_id": N_("Link %(id)s does not exist."),
    "broadcast_id": N_("Broadcast %(id)s does not exist."),
    "question_id": N_("Survey question %(id)s does not exist."),
    "route_id": N_("Inflow route %(id)s does not exist."),
}
ROUTE_WHICH = ("any", "first")  # came through the route at any time, or it was the friend's first route
PERSONAL_FIELD = N_("The field %(label)s holds personal data: your role cannot use it in segment conditions or counts.")
SURVEY_QUESTION = table("survey_question", column("id"))
# Inflow routes (crm.routes) sit above segments: their table is read by name too.
INFLOW_ROUTE = table("inflow_route", column("id"))
SURVEY_CHOICE = table("survey_choice", column("id"), column("question_id"))


class SegmentError(TranslatableError):
    """A condition tree that cannot be used; `path` says where (e.g. "conditions[2].value")."""

    code = "invalid_tree"

    def __init__(self, path: str, msgid: str, **params):
        super().__init__(msgid, **params)
        self.path = path

    def __str__(self) -> str:
        return f"{self.path or '(root)'}: {super().__str__()}"


class PersonalFieldError(SegmentError):
    """A condition on a personal field from a role that sees personal data masked."""

    code = "personal_field"


def at(path: str, key: str) -> str:
    """The path of a key inside a node (for registered conditions' errors)."""
    return _at(path, key)


def _at(path: str, key: str) -> str:
    return f"{path}.{key}" if path and not key.startswith("[") else f"{path}{key}"


def parse(data: dict | str) -> dict:
    """The tree as a dict: JSON text is decoded, anything else must already be an object."""
    if isinstance(data, str):
        if len(data) > MAX_JSON_CHARS:
            raise SegmentError("", N_("The condition tree is too large."))
        try:
            data = json.loads(data)
        except ValueError:
            raise SegmentError("", N_("The condition tree is not valid JSON.")) from None
        except RecursionError:  # brackets nested thousands deep: the decoder gives up before our depth check
            raise SegmentError("", N_("Groups can be nested at most %(max)d deep."), max=MAX_DEPTH) from None
    if not isinstance(data, dict):
        raise SegmentError("", N_("A condition must be an object with a type."))
    return data


def validate(session: Session, data: dict | str, *, personal_allowed: bool = True) -> dict:
    """Parse and check a condition tree (known tags, fields, questions, links; depth, size); normalised copy.
    Without `personal_allowed` (roles that see personal data masked) a personal field is refused."""
    return _Checker(session, personal_allowed).node(parse(data), "", 1)


def refuse_personal_fields(session: Session, stored: dict | str) -> None:
    """Raise PersonalFieldError when a stored tree has a condition on a personal field."""
    keys = set(_field_keys(parse(stored)))
    if not keys:
        return
    query = select(FieldDefinition.label).where(FieldDefinition.key.in_(sorted(keys)), FieldDefinition.personal)
    label = session.exec(query.order_by(FieldDefinition.label)).scalars().first()
    if label is not None:
        raise PersonalFieldError("", PERSONAL_FIELD, label=label)


def without_personal_values(session: Session, stored: dict | str) -> dict:
    """A stored tree as a role that sees personal data masked may read it: the values compared with personal
    fields (a phone number in an "eq") become null."""
    personal = set(session.exec(select(FieldDefinition.key).where(FieldDefinition.personal)).scalars())

    def masked(node):
        if not isinstance(node, dict):
            return node
        if node.get("type") == "field" and node.get("key") in personal and "value" in node:
            return {**node, "value": None}
        if node.get("type") == "not":
            return {**node, "condition": masked(node.get("condition"))}
        if isinstance(node.get("conditions"), list):
            return {**node, "conditions": [masked(child) for child in node["conditions"]]}
        return node

    return masked(parse(stored))


def _field_keys(node):
    """The field keys a (validated, so shallow) tree compares."""
    if not isinstance(node, dict):
        return
    if node.get("type") == "field":
        yield node.get("key")
    elif node.get("type") == "not":
        yield from _field_keys(node.get("condition"))
    elif isinstance(node.get("conditions"), list):
        for child in node["conditions"]:
            yield from _field_keys(child)


class _Checker:
    """Walks a tree once, counting leaves and checking each against the database."""

    def __init__(self, session: Session, personal_allowed: bool = True):
        self.session, self.leaves, self.nodes, self.personal_allowed = session, 0, 0, personal_allowed

    def node(self, node, path: str, depth: int) -> dict:
        if not isinstance(node, dict):
            raise SegmentError(path, N_("A condition must be an object with a type."))
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise SegmentError(path, N_("A segment can have at most %(max)d conditions and groups."), max=MAX_NODES)
        kind = node.get("type")
        if kind in GROUPS:
            if depth > MAX_DEPTH:
                raise SegmentError(path, N_("Groups can be nested at most %(max)d deep."), max=MAX_DEPTH)
            return self.group(node, kind, path, depth)
        registered = condition_kind(kind)
        if kind not in LEAVES and registered is None:
            raise SegmentError(_at(path, "type"), N_("Unknown condition type %(type)s."), type=str(kind)[:40])
        self.leaves += 1
        if self.leaves > MAX_LEAVES:
            raise SegmentError(path, N_("A segment can have at most %(max)d conditions."), max=MAX_LEAVES)
        if registered is not None:
            return {"type": kind, **registered.check(self.session, node, path)}
        return {"type": kind, **getattr(self, kind)(node, path)}

    def group(self, node: dict, kind: str, path: str, depth: int) -> dict:
        if kind == "not":
            return {"type": "not", "condition": self.node(node.get("condition"), _at(path, "condition"), depth + 1)}
        children = node.get("conditions", [])
        if not isinstance(children, list):
            raise SegmentError(_at(path, "conditions"), N_("Conditions must be a list."))
        return {
            "type": kind,
            "conditions": [
                self.node(child, _at(path, f"conditions[{i}]"), depth + 1) for i, child in enumerate(children)
            ],
        }

    def _exists(self, model_id, node: dict, path: str, key: str) -> int:
        value = _int(node, path, key)
        if self.session.exec(select(model_id).where(model_id == value)).first() is None:
            raise SegmentError(_at(path, key), MISSING[key], id=value)
        return value

    def tag(self, node: dict, path: str) -> dict:
        return {"tag_id": self._exists(Tag.id, node, path, "tag_id")}

    def clicked_link(self, node: dict, path: str) -> dict:
        return {"link_id": self._exists(TrackedLink.id, node, path, "link_id")}

    def clicked_broadcast(self, node: dict, path: str) -> dict:
        return {"broadcast_id": self._exists(Broadcast.id, node, path, "broadcast_id")}

    def answer(self, node: dict, path: str) -> dict:
        question = self._exists(SURVEY_QUESTION.c.id, node, path, "question_id")
        choice = _int(node, path, "choice_id")
        owner = self.session.exec(select(SURVEY_CHOICE.c.question_id).where(SURVEY_CHOICE.c.id == choice)).scalar()
        if owner != question:
            raise SegmentError(_at(path, "choice_id"), N_("Choice %(id)s is not a choice of this question."), id=choice)
        return {"question_id": question, "choice_id": choice}

    def field(self, node: dict, path: str) -> dict:
        key = node.get("key")
        definition = (
            self.session.exec(select(FieldDefinition).where(FieldDefinition.key == key)).scalars().first()
            if isinstance(key, str)
            else None
        )
        if definition is None:
            raise SegmentError(_at(path, "key"), N_("Field %(key)s does not exist."), key=str(key)[:60])
        if definition.personal and not self.personal_allowed:
            raise PersonalFieldError(_at(path, "key"), PERSONAL_FIELD, label=definition.label)
        op = node.get("op")
        if op not in FIELD_OPS[definition.field_type]:
            raise SegmentError(
                _at(path, "op"),
                N_("%(op)s cannot be used with a %(type)s field."),
                op=str(op)[:20],
                type=definition.field_type,
            )
        if op == "empty":
            return {"key": key, "op": op}
        return {"key": key, "op": op, "value": _field_value(definition, op, node.get("value"), path)}

    def followed(self, node: dict, path: str) -> dict:
        op = _choice(node, path, "op", ("before", "after"))
        return {"op": op, "at": _datetime(node.get("at"), _at(path, "at")).isoformat()}

    def followed_within(self, node: dict, path: str) -> dict:
        return {"days": _days(node, path)}

    def interaction(self, node: dict, path: str) -> dict:
        return {"op": _choice(node, path, "op", ("older", "newer")), "days": _days(node, path)}

    def status(self, node: dict, path: str) -> dict:
        return {"value": _choice(node, path, "value", (FriendStatus.FOLLOWING, FriendStatus.BLOCKED))}

    def attention(self, node: dict, path: str) -> dict:
        return {"value": _choice(node, path, "value", ATTENTION_VALUES)}

    def route(self, node: dict, path: str) -> dict:
        route_id = self._exists(INFLOW_ROUTE.c.id, node, path, "route_id")
        return {"route_id": route_id, "which": _choice({"which": "any", **node}, path, "which", ROUTE_WHICH)}


def _int(node: dict, path: str, key: str) -> int:
    value = node.get(key)
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)  # form posts send ids as strings
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value < 2**63:
        raise SegmentError(_at(path, key), N_("Choose a value."))
    return value


def _choice(node: dict, path: str, key: str, allowed: tuple[str, ...]) -> str:
    value = node.get(key)
    if value not in allowed:
        raise SegmentError(_at(path, key), N_("Choose one of %(choices)s."), choices=", ".join(allowed))
    return value


def _days(node: dict, path: str) -> int:
    value = node.get("days")
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_DAYS:
        raise SegmentError(_at(path, "days"), N_("Enter a number of days from 0 to %(max)d."), max=MAX_DAYS)
    return value


def _datetime(value, path: str) -> datetime:
    """An ISO date or date-time; without an offset it is Asia/Tokyo time (what the console shows)."""
    try:
        parsed = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        parsed = None
    if parsed is None:
        raise SegmentError(path, N_("Enter a date and time such as 2026-01-01T00:00:00+09:00."))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=TOKYO)


def _field_value(definition: FieldDefinition, op: str, raw, path: str) -> str:
    """The comparison value in the field's canonical form (what set_field_value stores)."""
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        raw = str(Decimal(str(raw)))
    if not isinstance(raw, str) or not raw.strip():
        raise SegmentError(_at(path, "value"), N_("Enter a value to compare with."))
    if op == "contains":
        return raw.strip()[:1000]
    try:
        return canonical_value(definition, raw)
    except FieldValidationError as error:
        raise SegmentError(_at(path, "value"), error.msgid, **error.params) from None
