"""Segment trees compiled to SQL, against expectations computed by hand from tests/segments/world.py, on
SQLite and PostgreSQL: every condition type, nesting, empty groups, blocked friends never recipients."""

from datetime import timedelta

import pytest
from sqlmodel import Session

from crm.db import get_engine
from crm.segments import service as segments
from crm.segments import tree as segment_tree
from tests.segments.world import NOW, build

EVERYONE = {"aki", "ben", "cho", "dan", "eri", "fay"}


def tag(w, name):
    return {"type": "tag", "tag_id": w.tags[name]}


def field(key, op, value=None):
    return {"type": "field", "key": key, "op": op, **({} if value is None else {"value": value})}


def all_(*conditions):
    return {"type": "all", "conditions": list(conditions)}


def any_(*conditions):
    return {"type": "any", "conditions": list(conditions)}


def not_(condition):
    return {"type": "not", "condition": condition}


CASES = {
    "tag": (lambda w: tag(w, "A"), {"aki", "ben", "cho"}),
    "text eq": (lambda w: field("plan", "eq", "gold"), {"aki", "cho"}),
    "text ne includes empty": (lambda w: field("plan", "ne", "gold"), {"ben", "dan", "eri", "fay"}),
    "text contains is case-sensitive": (lambda w: field("plan", "contains", "gold"), {"aki", "cho", "fay"}),
    "text empty": (lambda w: field("plan", "empty"), {"dan"}),
    "number gt by value": (lambda w: field("age", "gt", "10"), {"aki", "cho", "fay"}),
    "number lt by value": (lambda w: field("age", "lt", 10), {"ben", "dan"}),
    "number eq canonical": (lambda w: field("age", "eq", "０９"), {"ben"}),
    "number ne": (lambda w: field("age", "ne", "30.0"), {"ben", "cho", "dan", "eri", "fay"}),
    "number empty": (lambda w: field("age", "empty"), {"eri"}),
    "date lt": (lambda w: field("birthday", "lt", "2000-01-01"), {"aki"}),
    "date gt": (lambda w: field("birthday", "gt", "2000-01-01"), {"ben"}),
    "date eq": (lambda w: field("birthday", "eq", "2001-01-01"), {"ben"}),
    "date empty": (lambda w: field("birthday", "empty"), {"cho", "dan", "eri", "fay"}),
    "answer yes": (
        lambda w: {"type": "answer", "question_id": w.question, "choice_id": w.choices["yes"]},
        {"aki", "eri"},
    ),
    "answer no": (lambda w: {"type": "answer", "question_id": w.question, "choice_id": w.choices["no"]}, {"cho"}),
    "clicked link": (lambda w: {"type": "clicked_link", "link_id": w.links["l1"]}, {"aki"}),
    "clicked link twice": (lambda w: {"type": "clicked_link", "link_id": w.links["l3"]}, {"dan"}),
    "clicked broadcast": (lambda w: {"type": "clicked_broadcast", "broadcast_id": w.broadcasts["b1"]}, {"aki", "ben"}),
    "followed before": (
        lambda w: {"type": "followed", "op": "before", "at": (NOW - timedelta(days=30)).isoformat()},
        {"aki", "dan", "fay"},
    ),
    "followed after": (
        lambda w: {"type": "followed", "op": "after", "at": (NOW - timedelta(days=30)).isoformat()},
        {"ben", "cho", "eri"},
    ),
    "followed within": (lambda w: {"type": "followed_within", "days": 7}, {"cho", "eri"}),
    "followed within, boundary included": (lambda w: {"type": "followed_within", "days": 10}, {"ben", "cho", "eri"}),
    "interaction older, never counts": (
        lambda w: {"type": "interaction", "op": "older", "days": 5},
        {"ben", "cho", "dan", "fay"},
    ),
    "interaction newer": (lambda w: {"type": "interaction", "op": "newer", "days": 5}, {"aki", "eri"}),
    "status blocked": (lambda w: {"type": "status", "value": "blocked"}, {"cho"}),
    "status following": (lambda w: {"type": "status", "value": "following"}, EVERYONE - {"cho"}),
    "empty all is everyone": (lambda w: all_(), EVERYONE),
    "empty any is nobody": (lambda w: any_(), set()),
    "not of empty all is nobody": (lambda w: not_(all_()), set()),
    "all": (lambda w: all_(tag(w, "A"), tag(w, "B")), {"aki", "cho"}),
    "any": (lambda w: any_(tag(w, "A"), tag(w, "B")), {"aki", "ben", "cho", "eri"}),
    "not": (lambda w: not_(tag(w, "A")), {"dan", "eri", "fay"}),
    "not of any": (lambda w: not_(any_(tag(w, "A"), tag(w, "B"))), {"dan", "fay"}),
    "all with not": (lambda w: all_(tag(w, "A"), not_({"type": "status", "value": "blocked"})), {"aki", "ben"}),
    "all of any and not": (
        lambda w: all_(
            any_(
                {"type": "answer", "question_id": w.question, "choice_id": w.choices["yes"]},
                {"type": "clicked_broadcast", "broadcast_id": w.broadcasts["b2"]},
            ),
            not_(field("plan", "empty")),
        ),
        {"aki", "eri"},
    ),
    "three kinds": (
        lambda w: all_(field("age", "gt", "10"), {"type": "interaction", "op": "older", "days": 5}, tag(w, "B")),
        {"cho"},
    ),
    "any inside any": (
        lambda w: any_(
            field("plan", "eq", "silver"), any_(tag(w, "B"), {"type": "clicked_link", "link_id": w.links["l3"]})
        ),
        {"ben", "aki", "cho", "eri", "dan"},
    ),
    "all of any inside any": (
        lambda w: all_(any_(any_(tag(w, "A")), field("age", "lt", "0")), {"type": "status", "value": "following"}),
        {"aki", "ben", "dan"},
    ),
    "five deep": (lambda w: all_(any_(not_(all_(tag(w, "A"))))), {"dan", "eri", "fay"}),
    "all of time ranges": (
        lambda w: all_({"type": "followed_within", "days": 60}, {"type": "interaction", "op": "newer", "days": 30}),
        {"eri"},
    ),
}


@pytest.fixture
def world(app):
    return build(app)


@pytest.mark.parametrize("case", list(CASES))
def test_each_condition_selects_what_was_computed_by_hand(app, world, case):
    make, expected = CASES[case]
    with Session(get_engine(app)) as session:
        tree = segment_tree.validate(session, make(world))
        everyone = world.names(session.exec(segments.friend_ids(session, tree, now=NOW)).scalars())
        recipients = world.names(session.exec(segments.recipient_ids(session, tree, now=NOW)).scalars())
        assert everyone == expected
        assert recipients == expected - {"cho"}  # blocked friends are never recipients
        assert segments.count(session, tree, now=NOW) == len(expected - {"cho"})
        assert segments.count(session, tree, now=NOW, recipients_only=False) == len(expected)
        assert segments.counts(session, tree, now=NOW) == (len(expected - {"cho"}), len(expected))


def test_no_tree_means_every_following_friend(app, world):
    with Session(get_engine(app)) as session:
        assert world.names(session.exec(segments.recipient_ids(session, None, now=NOW)).scalars()) == EVERYONE - {"cho"}
        assert segments.count(session, None, now=NOW) == 5


def test_stored_json_text_and_deleted_things_match_nobody_instead_of_failing(app, world):
    stored = (
        '{"type": "any", "conditions": [{"type": "tag", "tag_id": 999}, '
        '{"type": "field", "key": "gone", "op": "eq", "value": "x"}]}'
    )
    with Session(get_engine(app)) as session:
        assert segments.count(session, stored, now=NOW) == 0
        gone_empty = {"type": "field", "key": "gone", "op": "empty"}
        assert segments.count(session, gone_empty, now=NOW) == 5


def test_ids_page_by_keyset_without_gaps(app, world):
    from crm.friends.models import Friend

    with Session(get_engine(app)) as session:
        query = segments.recipient_ids(session, any_(tag(world, "A"), tag(world, "B")), now=NOW)
        first = session.exec(query.order_by(Friend.id).limit(2)).scalars().all()
        rest = session.exec(query.where(Friend.id > first[-1]).order_by(Friend.id)).scalars().all()
        assert world.names(first + rest) == {"aki", "ben", "eri"}
