"""A/B broadcasts through the delivery engine and the LINE simulator: the control group is held out before the
split and never sent, every other friend gets their own variant's messages, each request carries one variant,
and a worker killed mid-send resumes without sending anyone twice or the wrong variant."""

import json
from collections import Counter

from sqlalchemy import select

from crm.broadcasts import recipients as broadcast_recipients
from crm.broadcasts.models import (
    BroadcastStatus,
    BroadcastVariant,
    DeliveryRequest,
    RecipientState,
)
from crm.db import get_engine, session_scope
from tests.broadcasts.delivery.helpers import broadcast_row, sim_friends
from tests.broadcasts.delivery.test_engine import tick
from tests.broadcasts.delivery.test_faults_and_workers import (
    PUSH,
    Worker,
    many_friends,
    request_states,
    sent_count,
    wait_for,
)
from tests.factories import make_broadcast

A = [{"type": "text", "text": "春のセール 20%オフ"}]
B = [{"type": "text", "text": "春のセール 送料無料"}, {"type": "sticker", "packageId": "446", "stickerId": "1988"}]
C = [{"type": "text", "text": "{name}さんだけに 先行セール"}]  # personal: goes by push


def with_variants(app, broadcast_id, contents, weights):
    """Store the broadcast's variants (A, B, ...); return {label: variant id}."""
    with session_scope(get_engine(app)) as session:
        rows = [
            BroadcastVariant(broadcast_id=broadcast_id, label=label, weight=weight, messages=json.dumps(messages))
            for label, messages, weight in zip("ABCD", contents, weights, strict=False)
        ]
        session.add_all(rows)
        session.flush()
        return {row.label: row.id for row in rows}


def recipients(app, broadcast_id):
    """{friend id: (state, variant id, request id)}, the state as every feature reads it."""
    recipient = broadcast_recipients.outcomes()
    with session_scope(get_engine(app)) as session:
        rows = session.execute(
            select(recipient.friend_id, recipient.state, recipient.variant_id, recipient.request_id).where(
                recipient.broadcast_id == broadcast_id
            )
        )
        return {friend_id: (state, variant_id, request_id) for friend_id, state, variant_id, request_id in rows}


def requests_by_id(app, broadcast_id):
    with session_scope(get_engine(app)) as session:
        return {
            row.id: row
            for row in session.execute(
                select(DeliveryRequest).where(DeliveryRequest.broadcast_id == broadcast_id)
            ).scalars()
        }


def test_each_friend_gets_their_variant_and_the_control_group_nothing(app, sim):
    friends = sim_friends(app, sim, 60)
    broadcast_id = make_broadcast(app, A, control_percent=20)
    ids = with_variants(app, broadcast_id, [A, B, C], [40, 30, 30])
    label_of = {variant_id: label for label, variant_id in ids.items()}
    tick(app)
    assert broadcast_row(app, broadcast_id).status == BroadcastStatus.SENT
    rows = recipients(app, broadcast_id)
    requests = requests_by_id(app, broadcast_id)
    held_out = [f for f, (state, _, _) in rows.items() if state == RecipientState.HELD_OUT]
    assert held_out  # 20 % of 60: some friends are held out
    counts = Counter(label_of.get(variant_id) for state, variant_id, _ in rows.values() if state == "sent")
    assert set(counts) == {"A", "B", "C"} and sum(counts.values()) == 60 - len(held_out)
    expected = {"A": A, "B": B}
    for n, (friend_id, user_id) in enumerate(friends):
        state, variant_id, request_id = rows[friend_id]
        inbox = sim.inbox(user_id)
        if state == RecipientState.HELD_OUT:
            assert inbox == [] and variant_id is None and request_id is None
            continue
        assert state == RecipientState.SENT
        [entry] = inbox
        request = requests[request_id]
        assert request.broadcast_variant_id == variant_id  # the request carries the friend's variant
        assert entry["retryKey"] == request.retry_key
        label = label_of[variant_id]
        if label == "C":
            assert entry["api"] == "push" and request.kind == "push"
            assert entry["messages"] == [{"type": "text", "text": f"友だち{n}さんだけに 先行セール"}]
        else:
            assert entry["api"] == "multicast" and request.kind == "multicast"
            assert entry["messages"] == expected[label]
    # Each multicast request carries friends of one variant only.
    for request in requests.values():
        members = {variant_id for state, variant_id, request_id in rows.values() if request_id == request.id}
        assert members == {request.broadcast_variant_id}


def test_a_killed_worker_resumes_an_ab_send_without_duplicates(app, sim, simulator, database_url):
    total = 600
    friends = many_friends(app, simulator.url, total)
    personal_a = [{"type": "text", "text": "{name}さん、Aのご案内"}]
    personal_b = [{"type": "text", "text": "{name}さん、Bのご案内"}]
    broadcast_id = make_broadcast(app, personal_a, control_percent=10)
    ids = with_variants(app, broadcast_id, [personal_a, personal_b], [50, 50])
    sim.set_fault("push", kind="stall", count=None, stall_seconds=0.01)  # slow enough to kill it mid-send
    first = Worker(database_url, simulator.url)
    try:
        wait_for(lambda: sent_count(app, broadcast_id) >= total // 5, workers=[first])
        first.kill()
        assert sent_count(app, broadcast_id) < total * 0.9  # killed mid-send
        second = Worker(database_url, simulator.url)
        try:
            wait_for(
                lambda: broadcast_row(app, broadcast_id).status == BroadcastStatus.SENT,
                workers=[second],
                describe=lambda: request_states(app, broadcast_id),
            )
        finally:
            second.stop()
    finally:
        first.stop()
        sim.clear_faults()
    rows = recipients(app, broadcast_id)
    letter = {ids["A"]: "A", ids["B"]: "B"}
    for n, (friend_id, user_id) in enumerate(friends):
        state, variant_id, _ = rows[friend_id]
        inbox = sim.inbox(user_id)
        if state == RecipientState.HELD_OUT:
            assert inbox == []
            continue
        assert state == RecipientState.SENT and len(inbox) == 1, (user_id, inbox)
        assert inbox[0]["messages"][0]["text"] == f"友だち{n}さん、{letter[variant_id]}のご案内"
    accepted = Counter(entry["retryKey"] for entry in sim.requests_log(path=PUSH) if entry["status"] == 200)
    assert set(accepted.values()) == {1}
    assert sum(accepted.values()) == sum(1 for state, _, _ in rows.values() if state == RecipientState.SENT)
