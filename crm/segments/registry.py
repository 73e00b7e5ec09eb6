"""Segment conditions that other features add (conversions, RFM): each checks its own JSON and says which friends
it selects as one SELECT of friend ids, so segments never import the features that build on them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.sql import Select
from sqlmodel import Session


@dataclass(frozen=True)
class ConditionKind:
    """A condition type: `check(session, node, path)` returns its normalised keys (raising SegmentError with the
    path of a bad part); `friend_ids(node, now)` is the SELECT of the friend ids it matches."""

    type: str
    check: Callable[[Session, dict, str], dict]
    friend_ids: Callable[[dict, datetime], Select]


_kinds: dict[str, ConditionKind] = {}


def register_condition(kind: ConditionKind) -> ConditionKind:
    """Add a condition type (registering the same type again replaces it)."""
    _kinds[kind.type] = kind
    return kind


def condition_kind(type_name) -> ConditionKind | None:
    """The registered condition of this type, if any."""
    return _kinds.get(type_name) if isinstance(type_name, str) else None
