"""broadcast.finished comes from the delivery engine's on_broadcast_finished listener."""

from datetime import timedelta

from crm.broadcasts.delivery.jobs import delivery_tick
from crm.broadcasts.delivery.schedule import DeliverySettings
from crm.db import get_engine
from crm.line.runtime import line_client
from crm.timeutil import utcnow
from tests.broadcasts.delivery.helpers import BASE, sim_friends
from tests.factories import make_broadcast
from tests.outbound.helpers import add_endpoint, events_of

TEXT = [{"type": "text", "text": "セールのお知らせ"}]
SETTINGS = DeliverySettings(base_url=BASE, concurrency=2)


def test_a_sent_and_a_missed_broadcast_are_events(app, engine, sim, receiver):
    add_endpoint(engine, receiver.url, ["broadcast.finished"])
    sim_friends(app, sim, 2)
    sent = make_broadcast(app, TEXT)
    missed = make_broadcast(app, TEXT, scheduled_at=utcnow() - timedelta(days=1))
    delivery_tick(get_engine(app), line_client(app), settings=SETTINGS)
    finished = {doc["data"]["broadcast"]["id"]: doc["data"]["broadcast"] for doc in events_of(engine)}
    assert finished[sent]["status"] == "sent" and finished[sent]["name"] == "Sale"
    assert finished[missed]["status"] == "missed"
    assert len(events_of(engine, "broadcast.finished")) == 2


def test_no_event_without_a_subscriber(app, engine, sim, receiver):
    add_endpoint(engine, receiver.url, ["tag.added"])
    sim_friends(app, sim, 1)
    make_broadcast(app, TEXT)
    delivery_tick(get_engine(app), line_client(app), settings=SETTINGS)
    assert events_of(engine) == []
