"""crm.sql's bulk helpers on the test database (SQLite, or PostgreSQL with CRM_TEST_DB=postgresql): rows inserted
in groups sharing all values but one, a column aggregated into one list per group, a first column read plainly."""

from sqlalchemy import select

from crm.broadcasts.models import BroadcastRecipient
from crm.db import get_engine, session_scope
from crm.sql import array_agg, first_column, insert_groups
from tests.factories import make_broadcast

COLUMNS = ("broadcast_id", "state", "request_id", "variant_id", "friend_id")


def stored(app, broadcast_id):
    recipient = BroadcastRecipient.__table__.c
    with session_scope(get_engine(app)) as session:
        query = (
            select(recipient.friend_id, recipient.state, recipient.request_id, recipient.variant_id)
            .where(recipient.broadcast_id == broadcast_id)
            .order_by(recipient.friend_id)
        )
        return [tuple(row) for row in session.execute(query)]


def test_groups_of_one_and_of_many_are_all_written_with_their_shared_values(app):
    broadcast_id = make_broadcast(app, [{"type": "text", "text": "x"}])
    groups = [
        ((broadcast_id, "queued", 7, None), list(range(1, 501))),  # a multicast's 500
        ((broadcast_id, "queued", 8, 3), [501]),  # a push's one
        ((broadcast_id, "queued", 9, 3), [502]),
        ((broadcast_id, "held_out", None, None), [600, 601, 602]),
    ]
    with session_scope(get_engine(app)) as session:
        insert_groups(session, BroadcastRecipient.__table__, COLUMNS, groups)

    assert stored(app, broadcast_id) == [
        *((friend_id, "queued", 7, None) for friend_id in range(1, 501)),
        (501, "queued", 8, 3),
        (502, "queued", 9, 3),
        (600, "held_out", None, None),
        (601, "held_out", None, None),
        (602, "held_out", None, None),
    ]


def test_a_failed_transaction_writes_none_of_the_groups(app):
    broadcast_id = make_broadcast(app, [{"type": "text", "text": "x"}])
    try:
        with session_scope(get_engine(app)) as session:
            insert_groups(session, BroadcastRecipient.__table__, COLUMNS, [((broadcast_id, "queued", 1, None), [1, 2])])
            raise RuntimeError("killed")
    except RuntimeError:
        pass
    assert stored(app, broadcast_id) == []


def test_array_agg_gives_one_list_per_group(app):
    broadcast_id = make_broadcast(app, [{"type": "text", "text": "x"}])
    groups = [((broadcast_id, "queued", 1, None), [1, 2, 3]), ((broadcast_id, "queued", 2, None), [4])]
    recipient = BroadcastRecipient.__table__.c
    with session_scope(get_engine(app)) as session:
        insert_groups(session, BroadcastRecipient.__table__, COLUMNS, groups)
        query = (
            select(recipient.request_id, array_agg(session, recipient.friend_id))
            .where(recipient.broadcast_id == broadcast_id)
            .group_by(recipient.request_id)
            .order_by(recipient.request_id)
        )
        rows = [(request_id, sorted(friend_ids)) for request_id, friend_ids in session.execute(query)]
    assert rows == [(1, [1, 2, 3]), (2, [4])]


def test_first_column_reads_a_querys_first_column_in_order(app):
    broadcast_id = make_broadcast(app, [{"type": "text", "text": "x"}])
    recipient = BroadcastRecipient.__table__.c
    with session_scope(get_engine(app)) as session:
        insert_groups(session, BroadcastRecipient.__table__, COLUMNS, [((broadcast_id, "queued", 1, None), [5, 3, 9])])
        query = select(recipient.friend_id, recipient.state).where(recipient.broadcast_id == broadcast_id)
        assert first_column(session, query.order_by(recipient.friend_id.desc())) == [9, 5, 3]
        assert first_column(session, query.where(recipient.friend_id > 100)) == []
