"""A reverse proxy in front of several web instances, as LINE's webhooks meet it on a multi-host setup."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor

import requests


class Balancer:
    """A WSGI app forwarding each webhook body, unchanged and with its signature, to one of the instances: new
    bodies round robin, LINE's redelivery of an event to another instance than the one that got it first, and
    every `mirror_every`-th new body to the next instance too, at the same moment (LINE's retry racing a slow
    first attempt). `arrivals` keeps (instance, body) of every body an instance answered."""

    def __init__(self, instances: list[str], *, mirror_every: int = 4):
        self.instances, self.mirror_every = instances, mirror_every
        self.lock = threading.Lock()
        self.turn = 0
        self.first_instance: dict[str, int] = {}  # webhookEventId → the instance that got it first
        self.arrivals: list[tuple[int, bytes]] = []

    def __call__(self, environ, start_response):
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        targets = self._targets(json.loads(body)["events"])
        headers = {"Content-Type": environ["CONTENT_TYPE"], "X-Line-Signature": environ["HTTP_X_LINE_SIGNATURE"]}
        with ThreadPoolExecutor(len(targets)) as pool:
            answers = list(pool.map(lambda index: self._post(index, body, headers), targets))
        first = answers[0]
        start_response(f"{first.status_code} {first.reason}", [("Content-Type", "application/json")])
        return [first.content]

    def _targets(self, events: list[dict]) -> list[int]:
        ids = [event["webhookEventId"] for event in events]
        with self.lock:
            if any(event["deliveryContext"]["isRedelivery"] for event in events):
                return [(self.first_instance[ids[0]] + 1) % len(self.instances)]
            index, self.turn = self.turn % len(self.instances), self.turn + 1
            self.first_instance.update(dict.fromkeys(ids, index))
            if self.turn % self.mirror_every:
                return [index]
            return [index, (index + 1) % len(self.instances)]

    def _post(self, index: int, body: bytes, headers: dict) -> requests.Response:
        answer = requests.post(f"{self.instances[index]}/callback", data=body, headers=headers, timeout=20)
        with self.lock:
            self.arrivals.append((index, body))
        return answer

    def event_ids(self) -> set[str]:
        """Every webhookEventId an instance was sent."""
        return {event["webhookEventId"] for _index, body in self.arrivals for event in json.loads(body)["events"]}
