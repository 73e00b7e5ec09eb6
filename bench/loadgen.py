"""Signed LINE follow (or text message) webhooks, and a keep-alive HTTP client that sends them at a fixed concurrency.

The client is threads with one `http.client` connection each; bodies are built and signed before
the clock starts, so the client spends only a few tens of microseconds of CPU per request.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import random
import statistics
import threading
import time
from dataclasses import dataclass, field

from bench.generate import line_user_id

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


@dataclass(frozen=True)
class SignedRequest:
    """One webhook POST, ready to send."""

    body: bytes
    headers: dict


def ulid(milliseconds: int, rng: random.Random) -> str:
    """A ULID, as LINE's webhookEventId: 48-bit millisecond time and 80 random bits in Crockford base32."""
    value = (milliseconds << 80) | rng.getrandbits(80)
    return "".join(CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))


def follow_event(*, user_id: str, event_id: str, timestamp_ms: int, reply_token: str) -> dict:
    """A complete follow event object as LINE sends it."""
    return {
        "type": "follow",
        "mode": "active",
        "timestamp": timestamp_ms,
        "source": {"type": "user", "userId": user_id},
        "webhookEventId": event_id,
        "deliveryContext": {"isRedelivery": False},
        "replyToken": reply_token,
        "follow": {"isUnblocked": False},
    }


def sign(body: bytes, secret: str) -> str:
    """base64(HMAC-SHA256(channel secret, exact body)), the X-Line-Signature value."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def follow_webhooks(count: int, *, secret: str, seed: str) -> list[SignedRequest]:
    """`count` signed webhooks, each one follow event of a new user."""
    return signed_webhooks(count, secret=secret, seed=seed, make_event=lambda **common: follow_event(**common))


def message_event(*, user_id: str, event_id: str, timestamp_ms: int, reply_token: str, text: str) -> dict:
    """A complete text message event object as LINE sends it."""
    return {
        "type": "message",
        "mode": "active",
        "timestamp": timestamp_ms,
        "source": {"type": "user", "userId": user_id},
        "webhookEventId": event_id,
        "deliveryContext": {"isRedelivery": False},
        "replyToken": reply_token,
        "message": {"id": event_id[-18:], "type": "text", "quoteToken": reply_token, "text": text},
    }


def message_webhooks(count: int, *, secret: str, seed: str, texts: list[str]) -> list[SignedRequest]:
    """`count` signed webhooks, each one text message (drawn from `texts`) of a new user."""
    rng = random.Random(f"texts:{seed}")
    return signed_webhooks(
        count, secret=secret, seed=seed, make_event=lambda **common: message_event(**common, text=rng.choice(texts))
    )


def signed_webhooks(count: int, *, secret: str, seed: str, make_event) -> list[SignedRequest]:
    """`count` signed webhooks of one event each, `make_event(user_id=, event_id=, timestamp_ms=, reply_token=)`
    for a new user every time."""
    rng = random.Random(seed)
    destination = line_user_id(rng)
    now_ms = int(time.time() * 1000)
    requests = []
    for index in range(count):
        event = make_event(
            user_id=line_user_id(rng),
            event_id=ulid(now_ms + index, rng),
            timestamp_ms=now_ms + index,
            reply_token=f"{rng.getrandbits(128):032x}",
        )
        body = json.dumps({"destination": destination, "events": [event]}, separators=(",", ":")).encode()
        requests.append(
            SignedRequest(
                body,
                {
                    "Content-Type": "application/json; charset=utf-8",
                    "User-Agent": "LineBotWebhook/2.0",
                    "X-Line-Signature": sign(body, secret),
                },
            )
        )
    return requests


@dataclass
class LoadResult:
    """What one load run saw: answers by status, latencies and wall time."""

    concurrency: int
    seconds: float = 0.0
    client_cpu_seconds: float = 0.0
    statuses: dict = field(default_factory=dict)
    latencies_ms: list = field(default_factory=list)
    reported_percentiles: dict = field(default_factory=dict)  # from clients that keep no samples (wrk)

    @property
    def sent(self) -> int:
        """Requests sent."""
        return sum(self.statuses.values())

    @property
    def ok(self) -> int:
        """Requests answered 200."""
        return self.statuses.get(200, 0)

    @property
    def client_cpu_ms(self) -> float:
        """CPU the client itself spent per request."""
        return self.client_cpu_seconds * 1000 / self.sent if self.sent else 0.0

    @property
    def ok_per_second(self) -> float:
        """Acknowledged requests per second."""
        return self.ok / self.seconds if self.seconds else 0.0

    def percentile(self, percent: int) -> float:
        """Latency percentile in milliseconds (1..99)."""
        if percent in self.reported_percentiles:
            return self.reported_percentiles[percent]
        if len(self.latencies_ms) < 2:
            return self.latencies_ms[0] if self.latencies_ms else float("nan")
        return statistics.quantiles(self.latencies_ms, n=100, method="inclusive")[percent - 1]


def drive(port: int, requests: list[SignedRequest], concurrency: int, *, max_seconds: float) -> LoadResult:
    """POST the requests to 127.0.0.1:port/callback from `concurrency` keep-alive connections."""
    result = LoadResult(concurrency)
    lock = threading.Lock()
    barrier = threading.Barrier(concurrency + 1)
    threads = [
        threading.Thread(
            target=_send_all, args=(port, requests[index::concurrency], barrier, lock, result, max_seconds), daemon=True
        )
        for index in range(concurrency)
    ]
    for thread in threads:
        thread.start()
    barrier.wait()
    started, cpu_started = time.perf_counter(), time.process_time()
    for thread in threads:
        thread.join()
    result.seconds = time.perf_counter() - started
    result.client_cpu_seconds = time.process_time() - cpu_started
    return result


def _send_all(
    port: int,
    batch: list[SignedRequest],
    barrier: threading.Barrier,
    lock: threading.Lock,
    result: LoadResult,
    max_seconds: float,
) -> None:
    """One client connection: send its share one after the other until done or out of time."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    statuses, latencies = {}, []
    barrier.wait()
    stop_at = time.perf_counter() + max_seconds
    for request in batch:
        started = time.perf_counter()
        if started > stop_at:
            break
        status = _post(connection, request)
        latencies.append((time.perf_counter() - started) * 1000)
        statuses[status] = statuses.get(status, 0) + 1
    connection.close()
    with lock:
        result.latencies_ms.extend(latencies)
        for status, count in statuses.items():
            result.statuses[status] = result.statuses.get(status, 0) + count


def _post(connection: http.client.HTTPConnection, request: SignedRequest) -> int:
    """Send one webhook and read the whole answer; 0 when the connection failed."""
    try:
        connection.request("POST", "/callback", request.body, request.headers)
        response = connection.getresponse()
        response.read()
        return response.status
    except (OSError, http.client.HTTPException):
        connection.close()
        return 0
