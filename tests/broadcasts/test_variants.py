"""A/B variants of broadcasts: the reproducible split by weight, drafts with variants (checked, stored,
audited, copied) and the per-variant statistics against hand-computed figures."""

import json
from collections import Counter
from datetime import timedelta

import pytest
from sqlmodel import select

from crm.broadcasts import drafts as broadcast_drafts
from crm.broadcasts import stats as broadcast_stats
from crm.broadcasts import variants as broadcast_variants
from crm.broadcasts.models import BroadcastRecipient, BroadcastStatus, BroadcastVariant, RecipientState
from crm.broadcasts.options import BroadcastError
from crm.friends.models import Friend, FriendStatus
from crm.staff.models import AuditEntry
from crm.statistics import compare
from crm.tags.models import FriendTag, Tag
from crm.tracking.models import LinkClick, TrackedLink
from tests.broadcasts.helpers import T0, add_broadcast, add_friends, add_staff, db

A = [{"type": "text", "text": "春のセール 20%オフ"}]
B = [{"type": "text", "text": "春のセール 送料無料"}]
C = [{"type": "sticker", "packageId": "446", "stickerId": "1988"}]


def test_equal_weights_split_100_percent():
    assert broadcast_variants.equal_weights(2) == [50, 50]
    assert broadcast_variants.equal_weights(3) == [34, 33, 33]
    assert broadcast_variants.equal_weights(4) == [25, 25, 25, 25]


def test_the_split_follows_the_weights_and_is_reproducible():
    variants = [
        BroadcastVariant(id=10 + n, broadcast_id=7, label=label, weight=weight, messages="[]")
        for n, (label, weight) in enumerate((("A", 50), ("B", 30), ("C", 20)))
    ]
    friends = list(range(1, 20001))
    chosen = broadcast_variants.split(7, friends, variants)
    shares = Counter(chosen.values())
    for variant in variants:  # 20,000 friends: each share within 1.5 points of its weight
        assert abs(100 * shares[variant.id] / len(friends) - variant.weight) < 1.5, shares
    assert broadcast_variants.split(7, friends, variants) == chosen  # same seed: same variant per friend
    again = broadcast_variants.split(7, friends[5000:6000], variants)  # a batch written again after a kill
    assert again == {friend: chosen[friend] for friend in friends[5000:6000]}
    other = broadcast_variants.split(8, friends, variants)
    assert sum(other[f] != chosen[f] for f in friends) > 5000  # another broadcast: another draw


def _draft(session, actor, **overrides):
    values = dict(name="Spring sale", purpose=None, messages=None)
    values.update(overrides)
    return broadcast_drafts.create_draft(session, actor=actor, **values)


def test_a_draft_with_variants_is_checked_stored_and_audited(app):
    with db(app) as session:
        actor = add_staff(session, "marketer", "m@example.com")
        draft = _draft(session, actor, variants=[{"messages": A}, {"messages": B}, {"messages": C}])
        rows = broadcast_variants.of_broadcast(session, draft.id)
        assert [(v.label, v.weight, v.messages) for v in rows] == [("A", 34, A), ("B", 33, B), ("C", 33, C)]
        assert json.loads(draft.messages) == A  # the broadcast's own content is A's copy
        entry = session.exec(select(AuditEntry).where(AuditEntry.action == "broadcast.create")).one()
        assert json.loads(entry.after)["variants"] == {"A": 34, "B": 33, "C": 33}

        broadcast_drafts.update_draft(
            session,
            actor=actor,
            broadcast_id=draft.id,
            name="Spring sale",
            purpose=None,
            messages=None,
            variants=[{"messages": B, "weight": 70}, {"messages": A, "weight": 30}],
        )
        rows = broadcast_variants.of_broadcast(session, draft.id)
        assert [(v.label, v.weight, v.messages) for v in rows] == [("A", 70, B), ("B", 30, A)]
        update = session.exec(select(AuditEntry).where(AuditEntry.action == "broadcast.update")).one()
        assert json.loads(update.before)["variants"] == {"A": 34, "B": 33, "C": 33}
        assert json.loads(update.after)["variants"] == {"A": 70, "B": 30}

        copy = broadcast_drafts.copy_draft(session, actor=actor, broadcast_id=draft.id)
        assert [(v.label, v.weight) for v in broadcast_variants.of_broadcast(session, copy.id)] == [
            ("A", 70),
            ("B", 30),
        ]

        # Back to one content: the variants go.
        broadcast_drafts.update_draft(
            session, actor=actor, broadcast_id=draft.id, name="Spring sale", purpose=None, messages=C, variants=None
        )
        assert broadcast_variants.of_broadcast(session, draft.id) == []
        assert json.loads(draft.messages) == C


@pytest.mark.parametrize(
    ("variants", "words"),
    [
        ([{"messages": A}], "2 to 4 variants"),
        ([{"messages": A}] * 5, "2 to 4 variants"),
        ([{"messages": A, "weight": 60}, {"messages": B, "weight": 30}], "add up to 100% (now 90%)"),
        ([{"messages": A, "weight": 100}, {"messages": B, "weight": 0}], "from 1 to 99"),
        ([{"messages": A, "weight": "50"}, {"messages": B, "weight": 50}], "from 1 to 99"),
        ([{"messages": A}, {"messages": []}], None),
        (["A", "B"], "messages and a weight"),
    ],
)
def test_bad_variants_are_refused(app, variants, words):
    with db(app) as session:
        actor = add_staff(session, "marketer", "m@example.com")
        with pytest.raises(BroadcastError) as caught:
            _draft(session, actor, variants=variants)
    assert caught.value.field == "variants"
    if words:
        assert words in str(caught.value)
    else:  # the second variant's content is refused, and said to be the second's
        assert caught.value.index == 1


def _stats_scene(session):
    """A/B broadcast (A 50, B 50) with a control group. Per variant, by hand:
    A: 40 sent, 2 failed, 1 queued; B: 35 sent, 3 failed; control: 30 held out; 5 capped.
    Clicks: A 3 friends (5 clicks), B 1 friend (1 click). Blocks within 7 days: A 1, B 2 (one more after 8 days).
    Goal (tag within 3 days): A 12 of 40, B 7 of 35, control 3 of 30 (and one A friend tagged too late)."""
    ids = add_friends(session, 40 + 2 + 1 + 35 + 3 + 30 + 5)
    tag = Tag(name="Bought")
    session.add(tag)
    session.flush()
    broadcast = add_broadcast(session, status=BroadcastStatus.SENT, started_at=T0)
    broadcast.goal = json.dumps({"kind": "tag", "id": tag.id, "days": 3})
    a = BroadcastVariant(broadcast_id=broadcast.id, label="A", weight=50, messages=json.dumps(A))
    b = BroadcastVariant(broadcast_id=broadcast.id, label="B", weight=50, messages=json.dumps(B))
    session.add_all([a, b])
    session.flush()
    groups = {}
    cursor = 0
    for name, count, state, variant in (
        ("a_sent", 40, RecipientState.SENT, a.id),
        ("a_failed", 2, RecipientState.FAILED, a.id),
        ("a_queued", 1, RecipientState.QUEUED, a.id),
        ("b_sent", 35, RecipientState.SENT, b.id),
        ("b_failed", 3, RecipientState.FAILED, b.id),
        ("control", 30, RecipientState.HELD_OUT, None),
        ("capped", 5, RecipientState.CAPPED, None),
    ):
        groups[name] = ids[cursor : cursor + count]
        cursor += count
        sent_at = T0 if state == RecipientState.SENT else None
        session.add_all(
            BroadcastRecipient(broadcast_id=broadcast.id, friend_id=f, state=state, variant_id=variant, sent_at=sent_at)
            for f in groups[name]
        )
    link = TrackedLink(destination="https://shop.example/sale", source="broadcast", broadcast_id=broadcast.id)
    session.add(link)
    session.flush()
    for friend_id, times in (
        (groups["a_sent"][0], 3),
        (groups["a_sent"][1], 1),
        (groups["a_sent"][2], 1),
        (groups["b_sent"][0], 1),
    ):
        for _ in range(times):
            session.add(LinkClick(link_id=link.id, friend_id=friend_id, broadcast_id=broadcast.id, clicked_at=T0))
    for friend_id, days in (
        (groups["a_sent"][5], 2),
        (groups["b_sent"][5], 1),
        (groups["b_sent"][6], 6),
        (groups["b_sent"][7], 8),
    ):
        friend = session.get(Friend, friend_id)
        friend.status, friend.blocked_at = FriendStatus.BLOCKED, T0 + timedelta(days=days)
    reached = groups["a_sent"][10:22] + groups["b_sent"][10:17] + groups["control"][:3]
    for friend_id in reached:
        session.add(FriendTag(friend_id=friend_id, tag_id=tag.id, added_by="test", added_at=T0 + timedelta(days=1)))
    session.add(
        FriendTag(friend_id=groups["a_sent"][30], tag_id=tag.id, added_by="test", added_at=T0 + timedelta(days=4))
    )
    session.flush()
    return broadcast


def test_statistics_per_variant_against_hand_computed_figures(app):
    with db(app) as session:
        broadcast = _stats_scene(session)
        stats = broadcast_stats.statistics(session, broadcast.id, now=T0 + timedelta(days=10))
    assert (stats.sent, stats.failed, stats.held_out, stats.capped, stats.queued) == (75, 5, 30, 5, 1)
    assert (stats.clicks, stats.unique_clickers, stats.blocks_7d) == (6, 4, 3)
    a, b = stats.variants
    assert (a.label, a.weight, a.recipients, a.sent, a.failed, a.queued) == ("A", 50, 43, 40, 2, 1)
    assert (b.label, b.weight, b.recipients, b.sent, b.failed, b.queued) == ("B", 50, 38, 35, 3, 0)
    assert (a.clicks, a.unique_clickers, a.blocks_7d) == (5, 3, 1)
    assert (b.clicks, b.unique_clickers, b.blocks_7d) == (1, 1, 2)
    assert a.click_rate == pytest.approx(7.5)
    assert (a.goal.reached, a.goal.group, b.goal.reached, b.goal.group) == (12, 40, 7, 35)
    assert a.goal.percent == pytest.approx(30.0) and b.goal.percent == pytest.approx(20.0)
    assert a.against_control == compare(12, 40, 3, 30) and b.against_control == compare(7, 35, 3, 30)
    assert a.against_control.friends == 70 and a.against_control.difference == pytest.approx(20.0)
    assert a.against_a is None
    assert b.against_a == compare(7, 35, 12, 40) and b.against_a.difference == pytest.approx(-10.0)
    low, high = b.against_a.interval
    assert low < -10 < high and not b.against_a.significant
    assert (stats.goal.sent_reached, stats.goal.sent_group) == (19, 75)  # the whole sent group as before


def test_a_broadcast_without_variants_has_no_variant_figures(app):
    with db(app) as session:
        broadcast = add_broadcast(session, status=BroadcastStatus.SENT, started_at=T0)
        stats = broadcast_stats.statistics(session, broadcast.id)
    assert stats.variants == []
