"""Condition trees that cannot be used are refused with the path of the bad part; good ones are normalised."""

import json

import pytest
from sqlmodel import Session

from crm.db import get_engine
from crm.segments import service as segments
from crm.segments import tree as segment_tree
from crm.segments.tree import SegmentError
from crm.staff.audit import Actor
from tests.segments.world import build

ACTOR = Actor.system("test")


@pytest.fixture
def world(app):
    return build(app)


def one(leaf):
    return {"type": "all", "conditions": [{"type": "tag", "tag_id": 1}, leaf]}


def nested(depth):
    node = {"type": "all", "conditions": []}
    for _ in range(depth - 1):
        node = {"type": "not", "condition": node}
    return node


BAD = {
    "not json": ("{", ""),
    "a list": ("[]", ""),
    "unknown type": ({"type": "bogus"}, "type"),
    "conditions not a list": ({"type": "all", "conditions": {}}, "conditions"),
    "not without a condition": ({"type": "not"}, "condition"),
    "unknown tag": (one({"type": "tag", "tag_id": 999}), "conditions[1].tag_id"),
    "tag id as bool": (one({"type": "tag", "tag_id": True}), "conditions[1].tag_id"),
    "unknown field": (one({"type": "field", "key": "nope", "op": "eq", "value": "x"}), "conditions[1].key"),
    "contains on a number": (one({"type": "field", "key": "age", "op": "contains", "value": "1"}), "conditions[1].op"),
    "lt on text": (one({"type": "field", "key": "plan", "op": "lt", "value": "a"}), "conditions[1].op"),
    "not a number": (one({"type": "field", "key": "age", "op": "gt", "value": "abc"}), "conditions[1].value"),
    "not a date": (one({"type": "field", "key": "birthday", "op": "lt", "value": "2001-02-30"}), "conditions[1].value"),
    "missing value": (one({"type": "field", "key": "plan", "op": "eq"}), "conditions[1].value"),
    "unknown question": (one({"type": "answer", "question_id": 999, "choice_id": 1}), "conditions[1].question_id"),
    "unknown link": (one({"type": "clicked_link", "link_id": 999}), "conditions[1].link_id"),
    "unknown broadcast": (one({"type": "clicked_broadcast", "broadcast_id": 999}), "conditions[1].broadcast_id"),
    "bad time": (one({"type": "followed", "op": "before", "at": "yesterday"}), "conditions[1].at"),
    "bad followed op": (one({"type": "followed", "op": "during", "at": "2026-01-01"}), "conditions[1].op"),
    "negative days": (one({"type": "followed_within", "days": -1}), "conditions[1].days"),
    "bad interaction op": (one({"type": "interaction", "op": "sideways", "days": 3}), "conditions[1].op"),
    "bad status": (one({"type": "status", "value": "deleted"}), "conditions[1].value"),
    "six deep": (nested(6), "condition.condition.condition.condition.condition"),
    "51 leaves": ({"type": "any", "conditions": [{"type": "status", "value": "blocked"}] * 51}, "conditions[50]"),
    "deep path": (
        {
            "type": "any",
            "conditions": [
                {"type": "not", "condition": {"type": "all", "conditions": [{"type": "status", "value": "x"}]}}
            ],
        },
        "conditions[0].condition.conditions[0].value",
    ),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_trees_are_refused_with_the_path(app, world, case):
    tree, path = BAD[case]
    with Session(get_engine(app)) as session, pytest.raises(SegmentError) as raised:
        segment_tree.validate(session, tree)
    assert raised.value.path == path
    assert raised.value.msgid


def test_choice_of_another_question_is_refused(app, world):
    leaf = {"type": "answer", "question_id": world.question, "choice_id": world.other_choice}
    with Session(get_engine(app)) as session, pytest.raises(SegmentError) as raised:
        segment_tree.validate(session, one(leaf))
    assert raised.value.path == "conditions[1].choice_id"


def test_five_deep_and_fifty_leaves_are_allowed(app, world):
    with Session(get_engine(app)) as session:
        segment_tree.validate(session, nested(5))
        segment_tree.validate(session, {"type": "any", "conditions": [{"type": "status", "value": "blocked"}] * 50})


def test_good_trees_are_normalised(app, world):
    tree = {
        "type": "all",
        "extra": 1,
        "conditions": [
            {"type": "field", "key": "age", "op": "eq", "value": " ０９ "},
            {"type": "followed", "op": "after", "at": "2026-01-01T00:00:00"},
            {"type": "tag", "tag_id": str(world.tags["A"])},
            {"type": "field", "key": "plan", "op": "empty", "value": "ignored"},
        ],
    }
    with Session(get_engine(app)) as session:
        assert segment_tree.validate(session, json.dumps(tree)) == {
            "type": "all",
            "conditions": [
                {"type": "field", "key": "age", "op": "eq", "value": "9"},
                {"type": "followed", "op": "after", "at": "2026-01-01T00:00:00+09:00"},
                {"type": "tag", "tag_id": world.tags["A"]},
                {"type": "field", "key": "plan", "op": "empty"},
            ],
        }


def test_saved_segments_are_validated_unique_and_audited(app, world):
    from sqlmodel import select

    from crm.staff.models import AuditEntry

    tree = {"type": "tag", "tag_id": world.tags["A"]}
    with Session(get_engine(app)) as session:
        saved = segments.create_segment(session, actor=ACTOR, name=" A fans ", tree=tree)
        assert saved.name == "A fans" and json.loads(saved.tree) == tree
        with pytest.raises(SegmentError) as raised:
            segments.create_segment(session, actor=ACTOR, name="A fans", tree=tree)
        assert raised.value.path == "name"
        with pytest.raises(SegmentError) as raised:
            segments.update_segment(session, actor=ACTOR, segment_id=saved.id, name="B", tree={"type": "x"})
        assert raised.value.path == "type"
        segments.update_segment(
            session,
            actor=ACTOR,
            segment_id=saved.id,
            name="B fans",
            tree=json.dumps({"type": "tag", "tag_id": world.tags["B"]}),
            description="who likes B",
        )
        assert [s.name for s in segments.list_segments(session)] == ["B fans"]
        segments.delete_segment(session, actor=ACTOR, segment_id=saved.id)
        assert segments.list_segments(session) == []
        actions = session.exec(select(AuditEntry.action).order_by(AuditEntry.id)).all()
        assert actions == ["segment.created", "segment.changed", "segment.deleted"]
        with pytest.raises(SegmentError):
            segments.get_segment(session, saved.id)
