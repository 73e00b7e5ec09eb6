"""Drafts and scheduling with the real segment and content services: validation, frozen audience, threshold."""

import json
from datetime import timedelta

import pytest
from sqlmodel import select

from crm.broadcasts import drafts as broadcast_drafts
from crm.broadcasts import lifecycle as broadcasts
from crm.broadcasts.models import BroadcastStatus as S
from crm.broadcasts.options import BroadcastError
from crm.friends.models import FriendStatus
from crm.segments import service as segments
from crm.staff.models import AuditEntry
from crm.tags.models import FriendTag, Tag
from tests.broadcasts.helpers import T0, TEXT, add_friends, add_staff, db


def _world(session):
    """5 following friends (3 tagged VIP), 2 blocked (1 tagged VIP); a saved segment "VIP"."""
    actor = add_staff(session, "marketer", "m@example.com")
    following = add_friends(session, 5)
    blocked = add_friends(session, 2, prefix="B", status=FriendStatus.BLOCKED)
    tag = Tag(name="VIP")
    session.add(tag)
    session.flush()
    for friend_id in following[:3] + blocked[:1]:
        session.add(FriendTag(friend_id=friend_id, tag_id=tag.id, added_by="test"))
    segment = segments.create_segment(
        session, actor=actor, name="VIP", tree={"type": "all", "conditions": [{"type": "tag", "tag_id": tag.id}]}
    )
    return actor, tag, segment


def _draft(session, actor, **overrides):
    values = dict(name="Spring sale", purpose="Tell VIPs first", messages=TEXT)
    values.update(overrides)
    return broadcast_drafts.create_draft(session, actor=actor, **values)


def test_a_draft_is_checked_saved_and_audited(app):
    with db(app) as session:
        actor, tag, segment = _world(session)
        draft = _draft(
            session,
            actor,
            segment_id=segment.id,
            control_percent=10,
            cap_count=2,
            cap_days=7,
            goal={"kind": "tag", "id": tag.id, "days": 5},
        )
        assert (draft.status, draft.created_by, draft.control_percent) == (S.DRAFT, actor.staff_id, 10)
        assert json.loads(draft.goal) == {"kind": "tag", "id": tag.id, "days": 5}
        assert json.loads(draft.messages)[0]["text"] == "Hello {name}"
        assert session.exec(select(AuditEntry).where(AuditEntry.action == "broadcast.create")).one()


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"name": " "}, "name"),
        ({"purpose": "x" * 501}, "purpose"),
        ({"messages": []}, "messages"),
        ({"messages": [{"type": "text", "text": "x"}] * 6}, "messages"),
        (
            {
                "messages": [
                    {
                        "type": "image",
                        "originalContentUrl": "http://a.example/i.png",
                        "previewImageUrl": "http://a.example/i.png",
                    }
                ]
            },
            "messages",
        ),
        ({"control_percent": 51}, "control_percent"),
        ({"control_percent": -1}, "control_percent"),
        ({"cap_count": 2}, "cap_count"),
        ({"cap_count": 0, "cap_days": 7}, "cap_count"),
        ({"goal": {"kind": "open", "id": 1, "days": 3}}, "goal"),
        ({"goal": {"kind": "tag", "id": 999, "days": 3}}, "goal"),
        ({"segment_id": 999}, "segment"),
        ({"segment_tree": {"type": "tag", "tag_id": 999}}, "segment"),
    ],
)
def test_bad_drafts_are_refused_with_the_field_named(app, overrides, field):
    with db(app) as session:
        actor, *_ = _world(session)
        with pytest.raises(BroadcastError) as raised:
            _draft(session, actor, **overrides)
    assert raised.value.field == field


def test_only_a_draft_can_be_edited(app):
    with db(app) as session:
        actor, _tag, segment = _world(session)
        draft = _draft(session, actor)
        broadcast_drafts.update_draft(
            session,
            actor=actor,
            broadcast_id=draft.id,
            name="Renamed",
            purpose=None,
            messages=TEXT,
            segment_id=segment.id,
        )
        assert (draft.name, draft.segment_id) == ("Renamed", segment.id)
        broadcasts.schedule(session, actor=actor, broadcast_id=draft.id, at=None, approval_threshold=100, now=T0)
        with pytest.raises(BroadcastError, match="Only a draft"):
            broadcast_drafts.update_draft(
                session, actor=actor, broadcast_id=draft.id, name="Again", purpose=None, messages=TEXT
            )


def test_schedule_freezes_the_segment_tree_and_counts_following_friends(app):
    with db(app) as session:
        actor, tag, segment = _world(session)
        draft = _draft(session, actor, segment_id=segment.id)
        at = T0 + timedelta(days=1)
        broadcasts.schedule(session, actor=actor, broadcast_id=draft.id, at=at, approval_threshold=100, now=T0)
        assert (draft.status, draft.scheduled_at, draft.estimated_recipients) == (S.SCHEDULED, at, 3)
        assert json.loads(draft.segment_tree) == json.loads(segment.tree)
        segments.update_segment(
            session, actor=actor, segment_id=segment.id, name="VIP", tree={"type": "all", "conditions": []}
        )
        assert json.loads(draft.segment_tree)["conditions"] == [{"type": "tag", "tag_id": tag.id}]


def test_send_now_for_every_friend(app):
    with db(app) as session:
        actor, *_ = _world(session)
        draft = _draft(session, actor)
        broadcasts.schedule(session, actor=actor, broadcast_id=draft.id, at=None, approval_threshold=100, now=T0)
        assert (draft.status, draft.scheduled_at, draft.segment_tree, draft.estimated_recipients) == (
            S.SCHEDULED,
            None,
            None,
            5,
        )


@pytest.mark.parametrize("threshold, status", [(2, S.AWAITING_APPROVAL), (3, S.SCHEDULED)])
def test_the_approval_threshold(app, threshold, status):
    with db(app) as session:
        actor, _tag, segment = _world(session)
        draft = _draft(session, actor, segment_id=segment.id)
        broadcasts.schedule(session, actor=actor, broadcast_id=draft.id, at=None, approval_threshold=threshold, now=T0)
        assert draft.status == status


def test_schedule_refuses_the_past_and_an_empty_audience(app):
    with db(app) as session:
        actor, *_ = _world(session)
        draft = _draft(session, actor)
        with pytest.raises(BroadcastError, match="future"):
            broadcasts.schedule(
                session,
                actor=actor,
                broadcast_id=draft.id,
                at=T0 - timedelta(minutes=1),
                approval_threshold=100,
                now=T0,
            )
        empty = _draft(session, actor, segment_tree={"type": "status", "value": "blocked"})
        with pytest.raises(BroadcastError, match="No friend"):
            broadcasts.schedule(session, actor=actor, broadcast_id=empty.id, at=None, approval_threshold=100, now=T0)
        assert (draft.status, empty.status) == (S.DRAFT, S.DRAFT)


def test_approval_flow_from_schedule_to_second_person(app):
    with db(app) as session:
        actor, *_ = _world(session)
        draft = _draft(session, actor)
        broadcasts.schedule(session, actor=actor, broadcast_id=draft.id, at=None, approval_threshold=1, now=T0)
        with pytest.raises(BroadcastError, match="second person"):
            broadcasts.approve(session, actor=actor, broadcast_id=draft.id, now=T0)
        other = add_staff(session, "marketer", "second@example.com")
        broadcasts.approve(session, actor=other, broadcast_id=draft.id, now=T0)
        assert (draft.status, draft.approved_by) == (S.SCHEDULED, other.staff_id)
