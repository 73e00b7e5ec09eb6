"""Compile a normalised condition tree (crm.segments.tree) into WHERE conditions on Friend.

Every condition becomes SQL (EXISTS on friend_tag, field_value, survey_answer and link_click, or a range on
the friend row), so a segment is one query with no filtering in Python, identical on SQLite and PostgreSQL.

SQLite's planner keeps no statistics, so, like crm.friends.query, the top "all" group chooses the
driving condition itself: the condition with the fewest matching friends (kept tag counts, else a capped
count) is read through `friend.id IN (...)` from its index, and every other condition is checked per row, in the
covering index ix_friend_id_checks rather than the friend's row (`Where.select`). PostgreSQL plans IN and EXISTS
alike (semi-joins) from its own statistics.

Field values are stored as canonical text (crm.fields.service): "eq" compares that text (index-friendly);
numbers order by value (CAST, guarded by CASE so no other field's text is ever cast); dates are ISO
YYYY-MM-DD, whose text order is date order. "contains" is case-sensitive on both databases (instr/strpos;
LIKE would fold ASCII case on SQLite only).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import Float, Numeric, and_, case, cast, column, false, func, literal, or_, select, table, true, union
from sqlalchemy.orm import aliased
from sqlalchemy.sql.selectable import CompoundSelect, Select
from sqlmodel import Session

from crm.fields.models import FieldDefinition, FieldType, FieldValue
from crm.friends.models import Friend
from crm.friends.query import tagged
from crm.segments.registry import condition_kind
from crm.tags.models import FriendTag, Tag
from crm.tracking.models import LinkClick

CHECKS_INDEX = "ix_friend_id_checks"  # (id, status, last_followed_at, last_interaction_at): migration 0041
MAX_ESTIMATE = 300_000  # index entries an estimate may read (a few ms on SQLite)
SURVEY_ANSWER = table("survey_answer", column("friend_id"), column("question_id"), column("choice_id"))
ROUTE_ARRIVAL = table("route_arrival", column("friend_id"), column("route_id"), column("first_route"))


@dataclass
class _Set:
    """A condition as a set of friend ids read from an index: `ids` selects them, `where` checks one row."""

    ids: object
    where: object


def _members(ids) -> list:
    """The selects of a union (SQLite cannot nest one union inside another), or the select itself."""
    return list(ids.selects) if isinstance(ids, CompoundSelect) else [ids]


ROW_LEVEL = ("status", "attention", "followed", "followed_within", "interaction")


@dataclass
class Where:
    """A tree's WHERE conditions on Friend; `driven`: SQLite reads them from a driving set of ids."""

    conditions: list
    driven: bool = False

    def select(self, *columns, first: tuple = ()) -> Select:
        """SELECT the columns of the friends matching `first` (checked before the rest) and the conditions.

        A driven SQLite query checks each driving id in the covering index ix_friend_id_checks (id, status, both
        times), not in the friend's row: SQLite prefers the row (its integer primary key), whose lookup costs about
        twice as much (wider rows, fewer of them per page)."""
        query = select(*columns).where(*first, *self.conditions)
        return query.with_hint(Friend, f"INDEXED BY {CHECKS_INDEX}", "sqlite") if self.driven else query


def where(session: Session, tree: dict, *, now: datetime) -> Where:
    """The WHERE conditions on Friend for a normalised tree, and whether a driving set of ids leads them."""
    compiler = _Compiler(session, now)
    if tree["type"] != "all":
        tree = {"type": "all", "conditions": [tree]}
    # SQLite checks terms in order: tests on the friend row it has already read go before EXISTS lookups
    children = sorted(tree["conditions"], key=lambda child: child["type"] not in ROW_LEVEL)
    checks = [compiler.check(child) for child in children]
    if compiler.dialect == "postgresql":
        return Where(checks)  # its planner picks the driving condition from its statistics
    sets = [(i, compiler.as_set(child)) for i, child in enumerate(children)]
    sets = [(i, found) for i, found in sets if found is not None]
    if not sets:
        return Where(checks)
    sizes = compiler.sizes(children, sets)
    driver, found = min(sets, key=lambda pair: sizes[pair[0]])
    return Where([Friend.id.in_(found.ids), *(c for i, c in enumerate(checks) if i != driver)], driven=True)


class _Compiler:
    """Turns nodes into SQL; field definitions are read once per compilation."""

    def __init__(self, session: Session, now: datetime):
        self.session, self.now, self._fields = session, now, None
        self.dialect = session.get_bind().dialect.name

    def check(self, node: dict):
        """A boolean expression on the current Friend row."""
        kind = node["type"]
        if kind == "all":
            return and_(true(), *(self.check(c) for c in node["conditions"]))
        if kind == "any":
            found = self.as_set(node) if self.dialect == "postgresql" else None
            # PostgreSQL runs OR-ed EXISTS as per-row subplans; `id IN (a UNION b)` becomes one hashed join
            return Friend.id.in_(found.ids) if found else or_(false(), *(self.check(c) for c in node["conditions"]))
        if kind == "not":
            return ~self.check(node["condition"])
        if kind == "status":
            return Friend.status == node["value"]
        if kind == "attention":
            value = node["value"]
            return Friend.attention.is_(None) if value == "none" else Friend.attention == value
        if kind == "tag":
            return tagged(Friend.id, [node["tag_id"]])
        if kind == "field" and node["op"] in ("ne", "empty"):
            return ~self._field_set({**node, "op": "eq" if node["op"] == "ne" else "any"}).where
        return self.as_set(node).where

    def as_set(self, node: dict) -> _Set | None:
        """The node as an index-readable set of friend ids, or None (negations, status, groups)."""
        kind = node["type"]
        registered = condition_kind(kind)
        if registered is not None:
            ids = registered.friend_ids(node, self.now)
            return _Set(ids, Friend.id.in_(ids))
        if kind == "tag":
            link = aliased(FriendTag)
            return self._exists(link.friend_id, link.tag_id == node["tag_id"])
        if kind == "answer":
            return self._answer(node)
        if kind in ("clicked_link", "clicked_broadcast"):
            click = aliased(LinkClick)
            key = (
                click.link_id == node["link_id"]
                if kind == "clicked_link"
                else click.broadcast_id == node["broadcast_id"]
            )
            return self._exists(click.friend_id, key)
        if kind == "route":
            arrival = ROUTE_ARRIVAL.alias()
            first = arrival.c.first_route.is_(True) if node["which"] == "first" else true()
            return self._exists(arrival.c.friend_id, arrival.c.route_id == node["route_id"], first)
        if kind == "field" and node["op"] not in ("ne", "empty"):
            return self._field_set(node)
        if kind in ("followed", "followed_within", "interaction"):
            return self._range(node)
        if kind == "any" and node["conditions"]:
            found = [self.as_set(child) for child in node["conditions"]]
            if all(found):  # one index read per branch, merged: `id IN (a UNION b ...)`
                return _Set(union(*(s for f in found for s in _members(f.ids))), or_(*(f.where for f in found)))
        return None

    @staticmethod
    def _exists(friend_id, *where) -> _Set:
        ids = select(friend_id).where(*where)
        return _Set(ids, ids.where(friend_id == Friend.id).exists())

    def _answer(self, node: dict) -> _Set:
        """Friends who picked the choice. Checked per friend, SQLite (no statistics) would pick the
        (question_id, choice_id) index over friend_id and read every such answer for each friend: `+ 0`
        keeps those columns out of its index choice there."""
        answer = SURVEY_ANSWER.alias()
        question, choice = answer.c.question_id, answer.c.choice_id
        ids = select(answer.c.friend_id).where(question == node["question_id"], choice == node["choice_id"])
        if self.dialect == "sqlite":
            question, choice = question + 0, choice + 0
        probe = (
            select(answer.c.friend_id)
            .where(answer.c.friend_id == Friend.id, question == node["question_id"], choice == node["choice_id"])
            .exists()
        )
        return _Set(ids, probe)

    def _field_set(self, node: dict) -> _Set:
        """Friends with a value of this field passing node's op ("any": a value at all)."""
        definition = self.fields().get(node["key"])
        value = aliased(FieldValue)
        field_id = definition.id if definition else -1  # a field deleted since: nobody has a value
        op, wanted = node["op"], node.get("value")
        if op == "any":
            test = value.value != ""
        elif op == "eq":
            test = value.value == wanted
        elif op == "contains":
            test = (
                func.instr(value.value, wanted) > 0
                if self.dialect == "sqlite"
                else func.strpos(value.value, wanted) > 0
            )
        elif definition is not None and definition.field_type == FieldType.NUMBER:
            test = self._ordered(case((value.field_id == field_id, value.value)), op, wanted)
        else:
            test = value.value < wanted if op == "lt" else value.value > wanted
        return self._exists(value.friend_id, value.field_id == field_id, test)

    def _ordered(self, text, op: str, wanted: str):
        """Compare a number stored as text by value (REAL on SQLite, NUMERIC on PostgreSQL)."""
        if self.dialect == "sqlite":
            number, bound = cast(text, Float), literal(float(Decimal(wanted)), Float)
        else:
            number, bound = cast(text, Numeric), literal(Decimal(wanted), Numeric)
        return number < bound if op == "lt" else number > bound

    def _range(self, node: dict) -> _Set:
        """A time condition on the friend row: checked directly, or read from its sort index."""
        kind, inner = node["type"], aliased(Friend)
        where = self._time_test(kind, node, Friend)
        return _Set(select(inner.id).where(self._time_test(kind, node, inner)), where)

    def _time_test(self, kind: str, node: dict, friend):
        if kind == "followed":
            at = datetime.fromisoformat(node["at"])
            return friend.last_followed_at < at if node["op"] == "before" else friend.last_followed_at >= at
        cutoff = self.now - timedelta(days=node["days"])
        if kind == "followed_within":
            return friend.last_followed_at >= cutoff
        if node["op"] == "newer":
            return friend.last_interaction_at >= cutoff
        # never interacted counts as "older": such a friend has been quiet for any number of days
        return or_(friend.last_interaction_at.is_(None), friend.last_interaction_at < cutoff)

    def fields(self) -> dict[str, FieldDefinition]:
        if self._fields is None:
            self._fields = {d.key: d for d in self.session.exec(select(FieldDefinition)).scalars()}
        return self._fields

    def sizes(self, children: list[dict], sets: list[tuple[int, _Set]]) -> dict[int, float]:
        """Friends per candidate: kept tag counts, else a count capped at the smallest size known so far
        (reading fewer index entries than driving from that candidate would). Number comparisons cast every
        value of the field, so they are not counted: they drive only when nothing else can."""
        tag_ids = [children[i]["tag_id"] for i, _ in sets if children[i]["type"] == "tag"]
        counts = (
            dict(self.session.exec(select(Tag.id, Tag.friend_count).where(Tag.id.in_(tag_ids))).all())
            if tag_ids
            else {}
        )
        sizes = {i: counts.get(children[i]["tag_id"], 0) for i, _ in sets if children[i]["type"] == "tag"}
        sizes.update({i: math.inf for i, _ in sets if self._numeric(children[i])})
        best = min(sizes.values(), default=MAX_ESTIMATE)
        for i, found in sets:
            if i not in sizes:
                cap = int(min(best, MAX_ESTIMATE)) + 1
                size = self.session.exec(select(func.count()).select_from(found.ids.limit(cap).subquery())).scalar()
                sizes[i] = math.inf if size >= cap else size
                best = min(best, sizes[i])
        return sizes

    def _numeric(self, node: dict) -> bool:
        """A number field compared by value (lt / gt)."""
        definition = self.fields().get(node.get("key")) if node["type"] == "field" else None
        return definition is not None and definition.field_type == FieldType.NUMBER and node["op"] in ("lt", "gt")
