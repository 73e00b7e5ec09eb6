"""A recipient's outcome comes from its delivery request: accepting a multicast writes the request row only, and
statistics, the friend page, the talk timeline and the frequency cap read the recipients through
crm.broadcasts.recipients.outcomes()."""

from __future__ import annotations

from sqlalchemy import select

from crm.broadcasts import recipients as broadcast_recipients
from crm.broadcasts import stats as broadcast_stats
from crm.broadcasts.models import BroadcastRecipient, RecipientState
from crm.db import get_engine, session_scope
from crm.inbox import activity_sources
from crm.inbox.talk import Window
from tests.broadcasts.delivery.helpers import sim_friends
from tests.broadcasts.delivery.test_engine import TEXT, requests_of, tick
from tests.factories import make_broadcast


def raw_rows(app, broadcast_id):
    """The broadcast_recipient rows as stored: (state, sent_at, error) by friend."""
    with session_scope(get_engine(app)) as session:
        rows = session.execute(
            select(
                BroadcastRecipient.friend_id,
                BroadcastRecipient.state,
                BroadcastRecipient.sent_at,
                BroadcastRecipient.error,
            ).where(BroadcastRecipient.broadcast_id == broadcast_id)
        )
        return {friend_id: (state, sent_at, error) for friend_id, state, sent_at, error in rows}


def outcomes(app, broadcast_id):
    recipient = broadcast_recipients.outcomes()
    with session_scope(get_engine(app)) as session:
        rows = session.execute(
            select(recipient.friend_id, recipient.state, recipient.sent_at, recipient.error).where(
                recipient.broadcast_id == broadcast_id
            )
        )
        return {friend_id: (state, sent_at, error) for friend_id, state, sent_at, error in rows}


def test_an_accepted_multicast_writes_its_request_and_every_reader_sees_its_recipients_sent(app, sim):
    friends = sim_friends(app, sim, 3)
    broadcast_id = make_broadcast(app, TEXT)
    tick(app)
    [request] = requests_of(app, broadcast_id)
    assert request.state == "sent" and request.finished_at is not None
    # The recipient rows were not touched when LINE accepted the request...
    assert set(raw_rows(app, broadcast_id).values()) == {(RecipientState.QUEUED, None, None)}
    # ...yet each recipient reads as sent, at the request's time.
    assert outcomes(app, broadcast_id) == {
        friend_id: (RecipientState.SENT, request.finished_at, None) for friend_id, _ in friends
    }
    with session_scope(get_engine(app)) as session:
        figures = broadcast_stats.statistics(session, broadcast_id)
        assert (figures.recipients, figures.sent, figures.queued, figures.failed) == (3, 3, 0, 0)
        [on_page] = broadcast_stats.for_friend(session, friends[0][0])
        assert (on_page["id"], on_page["state"], on_page["sent_at"]) == (
            broadcast_id,
            RecipientState.SENT,
            request.finished_at,
        )
        [item] = activity_sources.broadcast_items(session, friends[1][0], Window())
        assert (item.ref, item.at) == (broadcast_id, request.finished_at)


def test_a_refused_multicast_fails_its_recipients_with_lines_reason(app, sim):
    friends = sim_friends(app, sim, 2)
    sim.set_fault("multicast", kind="error", count=1, status=400)
    broadcast_id = make_broadcast(app, TEXT)
    tick(app)
    [request] = requests_of(app, broadcast_id)
    assert request.state == "failed"
    assert set(raw_rows(app, broadcast_id).values()) == {(RecipientState.QUEUED, None, None)}
    assert set(outcomes(app, broadcast_id).values()) == {(RecipientState.FAILED, None, "400: Simulated failure")}
    with session_scope(get_engine(app)) as session:
        figures = broadcast_stats.statistics(session, broadcast_id)
        assert (figures.sent, figures.failed, figures.failures) == (0, 2, [("400: Simulated failure", 2)])
        assert activity_sources.broadcast_items(session, friends[0][0], Window()) == []
