"""Two web instances (gunicorn) and two workers on one PostgreSQL database, the simulator as LINE: follows and
messages (with LINE's redeliveries sent to the other instance, some racing the first attempt), tracked clicks
on both instances and a scheduled broadcast, with the greeting scenario, an auto-reply, outbound webhooks and
the webhook relay running, the webhooks handled after the acknowledgement (queued). Nothing is lost and nothing
happens twice."""

from __future__ import annotations

import json
import os
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack

import pytest
import requests
from sqlalchemy import func, select

from bench.servers import Gunicorn, GunicornSettings
from crm.broadcasts import recipients as broadcast_recipients
from crm.broadcasts.models import BroadcastStatus, DeliveryRequest
from crm.db import get_engine, session_scope
from crm.friends.models import Friend, Message, MessageDirection
from crm.tags.models import FriendTag
from crm.tracking import links as tracked_links
from crm.tracking.models import ClickAction, LinkClick
from crm.webhook.models import WebhookEvent
from linesim.client import SimulatorClient
from tests.auto_replies.helpers import hits, make_rule
from tests.broadcasts.delivery.helpers import BASE, broadcast_row
from tests.broadcasts.delivery.test_faults_and_workers import PUSH, Worker, wait_for
from tests.conftest import TEST_DB, LiveServer
from tests.factories import make_broadcast, make_tag
from tests.multihost.balancer import Balancer
from tests.outbound.helpers import add_endpoint
from tests.outbound.receiver import Receiver

pytestmark = [
    pytest.mark.postgresql_only,
    pytest.mark.skipif(TEST_DB != "postgresql", reason="several hosts share one PostgreSQL; SQLite serves one host"),
]

USERS = 40
DRIVERS = 4  # threads acting as users at once
WEB = GunicornSettings(1, 4)  # each instance: one process of four threads
GREETING = "友だち追加ありがとうございます"
HOURS_ANSWER = "10時から19時まで営業しています"
SALE = "週末セールのお知らせです"
DESTINATION = "https://shop.example.jp/sale"


def in_parallel(work, items) -> list:
    with ThreadPoolExecutor(DRIVERS) as pool:
        return list(pool.map(work, items))


def befriend(sim: SimulatorClient, n: int) -> tuple[str, list[str]]:
    """A user follows and writes twice; (user id, the webhook event ids LINE is asked to redeliver)."""
    user_id = sim.create_user(f"来店客{n}")
    follow = sim.follow(user_id)
    asked = sim.send_text(user_id, "営業時間を教えてください")
    sim.send_text(user_id, "こんにちは")
    assert follow["status"] == asked["status"] == 200, (follow, asked)
    return user_id, [follow["event"]["webhookEventId"], asked["event"]["webhookEventId"]]


def count(app, query) -> int:
    with session_scope(get_engine(app)) as session:
        return session.execute(query).scalar()


def tracked_tokens(app, tag_id: int) -> dict[str, str]:
    """A tracked link that tags the clicker, and every friend's token for it: {LINE user id: token}."""
    with session_scope(get_engine(app)) as session:
        link = tracked_links.create_link(session, destination=DESTINATION, tag_id=tag_id)
        friends = session.execute(select(Friend.id, Friend.line_user_id)).all()
        return {user: tracked_links.token_for(session, link_id=link.id, friend_id=fid) for fid, user in friends}


def click(url: str) -> None:
    answer = requests.get(url, headers={"User-Agent": "Mozilla/5.0 Line/14.0"}, allow_redirects=False, timeout=20)
    assert (answer.status_code, answer.headers["Location"]) == (302, DESTINATION)


def events_of(receiver: Receiver) -> Counter:
    """Outbound events received by type; each event id must arrive once."""
    ids = Counter(headers["X-CRM-Event-Id"] for _path, headers, _body in receiver.calls)
    assert set(ids.values()) <= {1}, ids.most_common(3)
    return Counter(json.loads(body)["type"] for _path, _headers, body in receiver.calls)


def bodies_by_user(bodies: list[bytes]) -> dict[str, list[bytes]]:
    """Each user's distinct webhook bodies in the order first seen."""
    seen: dict[str, dict[bytes, None]] = {}
    for body in bodies:
        user = json.loads(body)["events"][0]["source"]["userId"]
        seen.setdefault(user, {})[body] = None
    return {user: list(ordered) for user, ordered in seen.items()}


def inbox_texts(sim: SimulatorClient, user_id: str) -> list[str]:
    return [message.get("text", "") for entry in sim.inbox(user_id) for message in entry["messages"]]


def test_two_web_instances_and_two_workers_lose_and_repeat_nothing(
    app, sim, simulator, database_url, greeting, tmp_path
):
    engine = get_engine(app)
    make_rule(app, keywords=["営業時間"], answer=HOURS_ANSWER)
    tag_id = make_tag(app, "セールを見た")
    events, relayed = Receiver(), Receiver()
    add_endpoint(engine, events.url, ["friend.followed", "link.clicked", "broadcast.finished"])
    settings = {"LINE_WEBHOOK_RELAY_URL": relayed.url}
    web_env = dict(os.environ, CRM_ENV="development", DATABASE_URL=database_url, LINE_API_BASE=simulator.url)
    web_env |= settings | {"PUBLIC_BASE_URL": BASE, "WEBHOOK_HANDLING": "queued"}  # the production default
    with ExitStack() as stack:
        for server in (events, relayed):
            stack.callback(server.stop)
        workers = [Worker(database_url, simulator.url, settings) for _ in range(2)]
        webs = [Gunicorn("app:app", WEB, env=web_env, log_path=tmp_path / f"web{n}.log") for n in range(2)]
        stack.callback(lambda: in_parallel(lambda process: process.stop(), [*webs, *workers]))
        in_parallel(Gunicorn.start, webs)
        wait_for(lambda: all("worker started" in "".join(w.lines) for w in workers), workers=workers)  # both take part
        instances = [f"http://127.0.0.1:{web.port}" for web in webs]
        balancer = Balancer(instances)
        proxy = LiveServer(balancer)
        stack.callback(proxy.stop)
        sim.configure(webhookUrl=f"{proxy.url}/callback")
        users = SimulatorClient(simulator.url)

        # Follows and messages spread over both instances; then LINE redelivers the follows and the questions.
        befriended = in_parallel(lambda n: befriend(users, n), range(USERS))
        in_parallel(lambda ids: [users.redeliver(event_id) for event_id in ids], [ids for _user, ids in befriended])
        assert count(app, select(func.count()).select_from(WebhookEvent)) == len(balancer.event_ids())
        # Answered once stored; the instances' consumers handle the events right after (the friends exist then).
        waiting = select(func.count()).where(WebhookEvent.handled_at.is_(None))
        wait_for(lambda: count(app, waiting) == 0, limit=60, every=0.1, workers=workers)

        # A broadcast is due while friends click their tracked link once on each instance.
        tokens = tracked_tokens(app, tag_id)
        broadcast_id = make_broadcast(app, [{"type": "text", "text": "{name}さん、" + SALE}])
        in_parallel(click, [f"{instance}/r/{token}" for token in tokens.values() for instance in instances])

        def progress() -> dict:
            return {
                "broadcast": broadcast_row(app, broadcast_id).status,
                "clicks queued": count(app, select(func.count()).select_from(ClickAction)),
                "events": events_of(events),
                "relayed": (len(relayed.calls), len(balancer.arrivals)),
                "inboxes of 3": sum(len(sim.inbox(user_id)) >= 3 for user_id, _ids in befriended),
            }

        done = {
            "broadcast": BroadcastStatus.SENT,
            "clicks queued": 0,
            "events": {"friend.followed": USERS, "link.clicked": 2 * USERS, "broadcast.finished": 1},
            "relayed": (len(balancer.arrivals), len(balancer.arrivals)),
            "inboxes of 3": USERS,
        }
        wait_for(lambda: progress() == done, limit=40, every=0.5, workers=workers, describe=progress)
    user_ids = [user_id for user_id, _ids in befriended]

    # Every event stored and handled once.
    with session_scope(engine) as session:
        stored = session.execute(select(WebhookEvent.webhook_event_id, WebhookEvent.is_redelivery)).all()
        still_waiting = session.execute(waiting).scalar()
        follows = Counter(session.execute(select(Friend.line_user_id, Friend.follow_count)).all())
        incoming = Counter(
            session.execute(select(Message.friend_id).where(Message.direction == MessageDirection.INCOMING)).scalars()
        )
        tagged = Counter(session.execute(select(FriendTag.friend_id).where(FriendTag.tag_id == tag_id)).scalars())
        clicks = Counter(session.execute(select(LinkClick.friend_id)).scalars())
        recipients = Counter(session.execute(select(broadcast_recipients.outcomes().state)).scalars())
        requests_sent = Counter(session.execute(select(DeliveryRequest.state)).scalars())
    assert {event_id for event_id, _ in stored} == balancer.event_ids() and len(stored) == 3 * USERS
    assert still_waiting == 0  # acknowledged first, then handled by the instances' consumers (or a worker's sweep)
    assert not any(redelivery for _, redelivery in stored)  # the first attempt was stored; the others were duplicates
    assert {(user, follow_count) for user, follow_count in follows} == {(user, 1) for user in user_ids}
    assert set(incoming.values()) == {2} and len(incoming) == USERS
    assert len(hits(app)) == USERS  # one auto-reply hit per question, redelivered or not
    # Every click stored once, and its tag applied by one of the workers.
    assert set(clicks.values()) == {2} and len(clicks) == USERS
    assert set(tagged.values()) == {1} and len(tagged) == USERS
    # The greeting, the answer and the broadcast reached each friend once.
    for user_id in user_ids:
        texts = inbox_texts(sim, user_id)
        assert len(texts) == 3, (user_id, texts)
        assert [sum(part in text for text in texts) for part in (GREETING, HOURS_ANSWER, SALE)] == [1, 1, 1], texts
    assert recipients == {"sent": USERS} and requests_sent == {"sent": USERS}
    accepted = Counter(entry["retryKey"] for entry in sim.requests_log(path=PUSH) if entry["status"] == 200)
    assert len(accepted) == USERS and set(accepted.values()) == {1}
    # Both instances served; the relay (one forwarder at a time) passed on each body it got once, in each user's order.
    assert {index for index, _body in balancer.arrivals} == {0, 1}
    assert len(balancer.arrivals) > len(balancer.event_ids())  # some bodies reached both instances
    received = [body for _index, body in balancer.arrivals]
    forwarded = [body for _path, _headers, body in relayed.calls]
    assert Counter(forwarded) == Counter(received)
    assert bodies_by_user(forwarded) == bodies_by_user(received)
