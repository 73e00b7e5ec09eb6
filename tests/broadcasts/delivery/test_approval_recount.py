"""Two-person approval holds at the start of a send: the worker recounts the audience in the transaction that
claims it, and a send that grew past both the approval threshold and the count approved goes back to awaiting
approval, visibly, with nothing sent."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from crm.broadcasts import lifecycle as broadcasts
from crm.broadcasts.delivery.jobs import delivery_tick
from crm.broadcasts.delivery.schedule import DeliverySettings
from crm.broadcasts.models import BroadcastRecipient, BroadcastStatus, DeliveryRequest
from crm.db import get_engine
from crm.line.runtime import line_client
from crm.staff.models import AuditEntry
from crm.tags.service import add_tag
from crm.timeutil import utcnow
from tests.broadcasts.delivery.helpers import BASE, broadcast_row, sim_friends
from tests.broadcasts.helpers import add_broadcast, add_staff, db
from tests.console_helpers import signed_in_client
from tests.factories import make_tag

THRESHOLD = 2
SETTINGS = DeliverySettings(base_url=BASE, concurrency=2, approval_threshold=THRESHOLD)


def tick(app):
    return delivery_tick(get_engine(app), line_client(app), settings=SETTINGS)


def _tagged_send(app, friends, *, tagged: int) -> tuple[int, int, object, object]:
    """A draft to a tag the first `tagged` friends hold, scheduled to send now: (broadcast, tag, creator, approver)."""
    tag = make_tag(app, "キャンペーン")
    with db(app) as session:
        creator = add_staff(session, "marketer", "creator@example.com")
        approver = add_staff(session, "marketer", "approver@example.com")
        for friend_id, _user in friends[:tagged]:
            add_tag(session, friend_id=friend_id, tag_id=tag, actor=creator)
        draft = add_broadcast(
            session, created_by=creator.staff_id, segment_tree=json.dumps({"type": "tag", "tag_id": tag})
        )
        broadcasts.schedule(
            session, actor=creator, broadcast_id=draft.id, at=None, approval_threshold=THRESHOLD, now=utcnow()
        )
        return draft.id, tag, creator, approver


def _tag_everyone(app, friends, tag: int, actor) -> None:
    with db(app) as session:
        for friend_id, _user in friends:
            add_tag(session, friend_id=friend_id, tag_id=tag, actor=actor)


def _nothing_sent(app, sim, friends, broadcast_id: int) -> bool:
    with db(app) as session:
        rows = (
            session.execute(
                select(func.count())
                .select_from(BroadcastRecipient)
                .where(BroadcastRecipient.broadcast_id == broadcast_id)
            ).scalar()
            + session.execute(
                select(func.count()).select_from(DeliveryRequest).where(DeliveryRequest.broadcast_id == broadcast_id)
            ).scalar()
        )
    return rows == 0 and all(sim.inbox(user) == [] for _friend, user in friends)


def test_a_send_whose_tag_grew_after_scheduling_goes_back_to_approval_and_sends_nothing(app, sim):
    friends = sim_friends(app, sim, 3)
    broadcast_id, tag, creator, approver = _tagged_send(app, friends, tagged=1)
    row = broadcast_row(app, broadcast_id)
    assert (row.status, row.approved_recipients) == (BroadcastStatus.SCHEDULED, 1)  # under the threshold
    _tag_everyone(app, friends, tag, creator)

    stats = tick(app)

    row = broadcast_row(app, broadcast_id)
    assert stats.started == 0 and row.status == BroadcastStatus.AWAITING_APPROVAL
    assert (row.approved_recipients, row.recounted_recipients, row.estimated_recipients) == (1, 3, 3)
    assert _nothing_sent(app, sim, friends, broadcast_id)
    with db(app) as session:
        entry = session.execute(
            select(AuditEntry).where(
                AuditEntry.action == "broadcast.awaiting_approval", AuditEntry.target_id == str(broadcast_id)
            )
        ).scalar_one()
        assert entry.actor == "delivery"
        assert json.loads(entry.after) == {
            "status": "awaiting_approval",
            "reason": "audience_grew",
            "approved_recipients": 1,
            "recipients": 3,
            "threshold": THRESHOLD,
        }
    page = signed_in_client(app, "admin").get(f"/broadcasts/{broadcast_id}").get_data(as_text=True)
    assert "配信されていません" in page and "3" in page.split('id="approval-recount"')[1].split("</div>")[0]

    with db(app) as session:
        broadcasts.approve(session, actor=approver, broadcast_id=broadcast_id, now=utcnow())
    assert broadcast_row(app, broadcast_id).approved_recipients == 3
    tick(app)
    assert broadcast_row(app, broadcast_id).status == BroadcastStatus.SENT
    assert all(len(sim.inbox(user)) == 1 for _friend, user in friends)


def test_an_approved_send_goes_out_unless_it_grew_past_the_count_approved(app, sim):
    friends = sim_friends(app, sim, 4)
    broadcast_id, tag, creator, approver = _tagged_send(app, friends, tagged=3)
    assert broadcast_row(app, broadcast_id).status == BroadcastStatus.AWAITING_APPROVAL  # 3 > threshold 2
    with db(app) as session:
        broadcasts.approve(session, actor=approver, broadcast_id=broadcast_id, now=utcnow())
    _tag_everyone(app, friends, tag, creator)  # 4 now: more than the 3 approved
    tick(app)
    row = broadcast_row(app, broadcast_id)
    assert (row.status, row.approved_recipients, row.recounted_recipients) == ("awaiting_approval", 3, 4)
    assert _nothing_sent(app, sim, friends, broadcast_id)
    with db(app) as session:
        broadcasts.approve(session, actor=approver, broadcast_id=broadcast_id, now=utcnow())
    tick(app)  # approved for 4, still 4: sent
    assert broadcast_row(app, broadcast_id).status == BroadcastStatus.SENT
