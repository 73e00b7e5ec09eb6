"""The delivery tick calls LINE with no transaction open: friends following meanwhile are stored at once."""

from crm.broadcasts.delivery.jobs import delivery_tick
from crm.broadcasts.delivery.schedule import DeliverySettings
from crm.broadcasts.models import BroadcastStatus
from crm.db import get_engine
from crm.line.runtime import line_client
from tests.broadcasts.delivery.helpers import BASE, broadcast_row
from tests.factories import make_broadcast
from tests.line_probe import FollowDuringLineCalls


def test_a_follow_is_stored_while_the_sender_calls_line(app, sim, crm_server):
    users = [sim.create_user(f"友だち{n}") for n in range(2)]
    for user_id in users:
        assert sim.follow(user_id)["status"] == 200
    broadcast_id = make_broadcast(app, [{"type": "text", "text": "{name}さん、セールです"}])
    probe = FollowDuringLineCalls(app, sim, client=line_client(app))
    delivery_tick(get_engine(app), probe, settings=DeliverySettings(base_url=BASE, concurrency=2))
    assert broadcast_row(app, broadcast_id).status == BroadcastStatus.SENT
    assert probe.statuses == [200, 200] and probe.stored == [True, True]
    assert all(len(sim.inbox(user_id)) == 1 for user_id in users)
