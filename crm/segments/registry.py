"""Segment conditions that other features add (conversions, RFM): each checks its own JSON and says which friends
it selects as one SELECT of friend ids, so segments never import the features that build on them. A condition may
also tell the builder how to show it (`BuilderInputs`): its name, the inputs to draw and the choices they offer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.sql import Select
from sqlmodel import Session

# The inputs the builder (static/segment_builder.js) knows how to draw for a registered condition:
#  "choice_days": a pick among `options` (keys[0]) and a number of days (keys[1]);
#  "amount": a whole number (keys[0]), a yen amount say;
#  "ranges": a low–high pair of selects from `low` to `high` for each of the keys (each a [low, high] list);
#  "number": one select from `low` to `high` (keys[0]).
INPUT_KINDS = ("choice_days", "amount", "ranges", "number")


@dataclass(frozen=True)
class BuilderInputs:
    """How the builder shows a condition: `label` (N_-marked) names it in the type list, `words` (N_-marked, by
    key) stand beside its inputs, `default` is a new condition's JSON and `options(session)` lists what a
    "choice_days" input picks from ({"id", "name"} each)."""

    label: str
    kind: str
    keys: tuple[str, ...]
    default: dict
    words: dict[str, str] = field(default_factory=dict)
    low: int = 0
    high: int = 0
    options: Callable[[Session], list[dict]] | None = None


@dataclass(frozen=True)
class ConditionKind:
    """A condition type: `check(session, node, path)` returns its normalised keys (raising SegmentError with the
    path of a bad part); `friend_ids(node, now)` is the SELECT of the friend ids it matches; `builder`, when
    given, lets the segment builder offer it with proper inputs (otherwise it shows the condition's JSON)."""

    type: str
    check: Callable[[Session, dict, str], dict]
    friend_ids: Callable[[dict, datetime], Select]
    builder: BuilderInputs | None = None


_kinds: dict[str, ConditionKind] = {}


def register_condition(kind: ConditionKind) -> ConditionKind:
    """Add a condition type (registering the same type again replaces it)."""
    if kind.builder is not None and kind.builder.kind not in INPUT_KINDS:
        raise ValueError(f"unknown builder input kind {kind.builder.kind!r}")
    _kinds[kind.type] = kind
    return kind


def condition_kind(type_name) -> ConditionKind | None:
    """The registered condition of this type, if any."""
    return _kinds.get(type_name) if isinstance(type_name, str) else None


def builder_kinds() -> list[ConditionKind]:
    """The registered conditions the builder can offer, in the order they were registered."""
    return [kind for kind in _kinds.values() if kind.builder is not None]


def builder_options(session: Session) -> list[dict]:
    """What the builder needs to draw each offered condition, JSON-ready, in the order offered (labels and
    words excepted: the page translates them)."""
    return [
        {
            "type": kind.type,
            "kind": kind.builder.kind,
            "keys": list(kind.builder.keys),
            "default": kind.builder.default,
            "low": kind.builder.low,
            "high": kind.builder.high,
            "options": kind.builder.options(session) if kind.builder.options else [],
        }
        for kind in builder_kinds()
    ]


def builder_words() -> dict[str, str]:
    """The msgids the page translates for the offered conditions: each type's label under its type, each word
    under "type.key"."""
    words = {}
    for kind in builder_kinds():
        words[kind.type] = kind.builder.label
        words.update({f"{kind.type}.{key}": word for key, word in kind.builder.words.items()})
    return words
