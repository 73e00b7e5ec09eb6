"""Exactly-once delivery under faults: the simulator fails (500), stalls past the client timeout and rate-limits
(429) while the worker process is killed (SIGKILL) mid-send and restarted; and two workers sharing a send."""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter

import pytest
import requests
from sqlalchemy import func, select

from crm.broadcasts import recipients as broadcast_recipients
from crm.broadcasts.models import BroadcastRecipient, BroadcastStatus, DeliveryRequest, RecipientState
from crm.db import get_engine, session_scope
from linesim.client import SimulatorClient
from tests.broadcasts.delivery.helpers import BASE, broadcast_row, sim_friends
from tests.conftest import TEST_DB
from tests.factories import make_broadcast

RECIPIENTS = 1000
PUSH = "/v2/bot/message/push"


def many_friends(app, simulator_url: str, count: int) -> list[tuple[int, str]]:
    """`count` following simulator users stored as friends (one kept-alive HTTP session for speed)."""
    with requests.Session() as http:
        return sim_friends(app, SimulatorClient(simulator_url, session=http), count)


class FaultInjector(threading.Thread):
    """Makes about one push request in ten fail: a 500, a stall past the client timeout, or a 429.

    A new one-shot fault is armed only after ten more pushes reached the simulator, so faults follow the traffic
    (a slowed-down sender does not meet a pile of them)."""

    def __init__(self, simulator_url: str):
        super().__init__(daemon=True)
        self.control = SimulatorClient(simulator_url)
        self.stopped = threading.Event()
        self.rng = random.Random(5)

    def run(self):
        armed_at = -10
        while not self.stopped.wait(0.05):
            pushes = len(self.control.requests_log(path=PUSH))
            if pushes - armed_at < 10 or self.control._call("GET", "/faults")["faults"]:
                continue
            armed_at = pushes
            kind = self.rng.choice(["error", "error", "error", "stall", "throttle"])
            if kind == "stall":
                self.control.set_fault("push", kind="stall", count=1, stall_seconds=2.5)
            else:
                self.control.set_fault("push", kind="error", count=1, status=500 if kind == "error" else 429)

    def stop(self):
        self.stopped.set()
        self.join()
        self.control.clear_faults()


class Worker:
    """`python -m crm.worker` as a child process, with its output collected (`env`: settings beside the tests')."""

    def __init__(self, database_url: str, simulator_url: str, env: dict | None = None):
        settings = dict(
            os.environ,
            CRM_ENV="development",
            DATABASE_URL=database_url,
            LINE_API_BASE=simulator_url,
            PUBLIC_BASE_URL=BASE,
            LINE_API_TIMEOUT_SECONDS="1.5",
            DELIVERY_LEASE_SECONDS="5",
            DELIVERY_MAX_ATTEMPTS="1000",
            DELIVERY_CONCURRENCY="8",
        )
        self.process = subprocess.Popen(
            [sys.executable, "-m", "crm.worker"],
            env=settings | (env or {}),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.process.stdout:
            self.lines.append(line)

    def sent_requests(self) -> int:
        """Requests this worker reported as sent (its delivery_tick log lines)."""
        return sum(int(m.group(1)) for line in self.lines if (m := re.search(r"requests_sent=(\d+)", line)))

    def kill(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=15)
        self._close()

    def _close(self):
        self.reader.join(timeout=5)
        if not self.process.stdout.closed:
            self.process.stdout.close()

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._close()


def wait_for(condition, *, limit: float = 180.0, every: float = 0.05, workers=(), describe=lambda: ""):
    """Poll until condition() is truthy (the limit only stops a broken test from hanging)."""
    give_up = time.monotonic() + limit
    while time.monotonic() < give_up:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(
        f"condition not reached ({describe()}); workers said:\n"
        + "".join(line for worker in workers for line in worker.lines[-40:])
    )


def sent_count(app, broadcast_id: int) -> int:
    with session_scope(get_engine(app)) as session:
        return session.execute(
            select(func.count()).where(DeliveryRequest.broadcast_id == broadcast_id, DeliveryRequest.state == "sent")
        ).scalar()


def request_states(app, broadcast_id: int) -> list:
    """(state, attempts, next attempt, error, broadcast status) of the requests not sent: why a send is stuck."""
    with session_scope(get_engine(app)) as session:
        rows = session.execute(
            select(
                DeliveryRequest.state, DeliveryRequest.attempts, DeliveryRequest.next_attempt_at, DeliveryRequest.error
            )
            .where(DeliveryRequest.broadcast_id == broadcast_id, DeliveryRequest.state != "sent")
            .limit(10)
        ).all()
    return [tuple(row) for row in rows] + [broadcast_row(app, broadcast_id).status]


def assert_everyone_got_exactly_one(app, sim, friends, broadcast_id):
    """Each simulator inbox holds one message of this send, with its request's retry key; all rows sent."""
    with session_scope(get_engine(app)) as session:
        keys = dict(
            session.execute(
                select(BroadcastRecipient.friend_id, DeliveryRequest.retry_key)
                .join(DeliveryRequest, DeliveryRequest.id == BroadcastRecipient.request_id)
                .where(BroadcastRecipient.broadcast_id == broadcast_id)
            ).all()
        )
        recipient = broadcast_recipients.outcomes()
        states = Counter(
            session.execute(select(recipient.state).where(recipient.broadcast_id == broadcast_id)).scalars()
        )
    assert states == {RecipientState.SENT: len(friends)}
    for n, (friend_id, user_id) in enumerate(friends):
        inbox = sim.inbox(user_id)
        assert len(inbox) == 1, (user_id, inbox)
        assert inbox[0]["retryKey"] == keys[friend_id]
        assert inbox[0]["messages"][0]["text"] == f"友だち{n}さん、セールです"
    assert broadcast_row(app, broadcast_id).status == BroadcastStatus.SENT


def test_faults_and_a_killed_worker_still_deliver_exactly_once(app, sim, simulator, database_url):
    friends = many_friends(app, simulator.url, RECIPIENTS)
    broadcast_id = make_broadcast(app, [{"type": "text", "text": "{name}さん、セールです"}])
    injector = FaultInjector(simulator.url)
    injector.start()
    first = Worker(database_url, simulator.url)
    try:
        wait_for(lambda: sent_count(app, broadcast_id) >= RECIPIENTS // 5, workers=[first])
        first.kill()
        assert sent_count(app, broadcast_id) < RECIPIENTS  # killed mid-send
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
        injector.stop()
        first.stop()
    assert_everyone_got_exactly_one(app, sim, friends, broadcast_id)
    log = sim.requests_log(path=PUSH)
    statuses = Counter(entry["status"] for entry in log)
    assert statuses[500] and statuses[429] and statuses[409]  # faults happened; stalled sends were retried
    accepted = Counter(entry["retryKey"] for entry in log if entry["status"] == 200)
    assert len(accepted) == RECIPIENTS and set(accepted.values()) == {1}
    assert all(entry["retryKey"] for entry in log)


@pytest.mark.skipif(TEST_DB != "postgresql", reason="several workers share a send on PostgreSQL only")
def test_two_workers_share_one_send(app, sim, simulator, database_url):
    friends = many_friends(app, simulator.url, RECIPIENTS)
    broadcast_id = make_broadcast(app, [{"type": "text", "text": "{name}さん、セールです"}])
    sim.set_fault("push", kind="stall", count=None, stall_seconds=0.02)  # slow LINE: both workers find work
    workers = [Worker(database_url, simulator.url), Worker(database_url, simulator.url)]
    try:
        wait_for(lambda: broadcast_row(app, broadcast_id).status == BroadcastStatus.SENT, workers=workers)
    finally:
        for worker in workers:
            worker.stop()
        sim.clear_faults()
    assert_everyone_got_exactly_one(app, sim, friends, broadcast_id)
    assert all(worker.sent_requests() > 0 for worker in workers), [w.sent_requests() for w in workers]
    assert sum(worker.sent_requests() for worker in workers) == RECIPIENTS
    assert not any(entry["status"] == 409 for entry in sim.requests_log(path=PUSH))  # nobody took a claimed row
