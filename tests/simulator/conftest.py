"""Fixtures for the simulator's tests: the simulator and a webhook receiver, each a real HTTP server."""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager

import pytest
import requests
from flask import Flask, request
from linebot.v3.messaging import ApiClient, Configuration, MessagingApi, MessagingApiBlob
from werkzeug.serving import make_server

from linesim import create_app
from linesim.client import SimulatorClient

SECRET = "test-channel-secret"
TOKEN = "test-access-token"
BOT_ID = "U" + "b" * 32


@contextmanager
def serving(app):
    """Serve a WSGI app on a free loopback port in a thread; yield its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


class Receiver:
    """A stand-in CRM webhook endpoint that records what it receives and answers as told."""

    def __init__(self):
        self.calls: list[dict] = []
        self.status = 200
        self.delay = 0.0
        self.app = Flask("receiver")
        self.app.add_url_rule("/callback", "callback", self.callback, methods=["POST"])
        self.url = ""

    def callback(self):
        """Record the raw body and headers."""
        self.calls.append({"body": request.get_data(as_text=True), "headers": dict(request.headers)})
        time.sleep(self.delay)
        return "OK", self.status

    @property
    def last(self) -> dict:
        """The most recent webhook received."""
        return self.calls[-1]


class LineApi:
    """Plain HTTP calls to the simulator's Messaging API with the channel access token."""

    def __init__(self, base_url: str):
        self.base_url = base_url

    def call(self, method: str, path: str, *, token: str | None = TOKEN, headers: dict | None = None, **kwargs):
        """Send one request; return the requests.Response."""
        all_headers = {"Authorization": f"Bearer {token}"} if token else {}
        all_headers.update(headers or {})
        kwargs.setdefault("timeout", 30)
        return requests.request(method, self.base_url + path, headers=all_headers, **kwargs)

    def post(self, path: str, body=None, **kwargs):
        """POST JSON."""
        return self.call("POST", path, json=body, **kwargs)

    def get(self, path: str, **kwargs):
        """GET."""
        return self.call("GET", path, **kwargs)

    def push_text(self, to: str, text: str = "hello", **kwargs):
        """Push one text message."""
        return self.post("/v2/bot/message/push", {"to": to, "messages": [{"type": "text", "text": text}]}, **kwargs)


@pytest.fixture
def receiver():
    """The webhook receiver, served over HTTP."""
    recorder = Receiver()
    with serving(recorder.app) as url:
        recorder.url = f"{url}/callback"
        yield recorder


@pytest.fixture
def sim_url(receiver):
    """A fresh simulator posting webhooks to the receiver; its base URL."""
    app = create_app(
        {
            "CHANNEL_SECRET": SECRET,
            "CHANNEL_ACCESS_TOKEN": TOKEN,
            "WEBHOOK_URL": receiver.url,
            "BOT_USER_ID": BOT_ID,
            "WEBHOOK_TIMEOUT": 5,
        }
    )
    with serving(app) as url:
        yield url


@pytest.fixture
def control(sim_url):
    """The control-API client."""
    return SimulatorClient(sim_url)


@pytest.fixture
def line_api(sim_url):
    """Raw Messaging API calls."""
    return LineApi(sim_url)


@pytest.fixture
def api_client(sim_url):
    """The SDK's ApiClient pointed at the simulator."""
    with ApiClient(Configuration(host=sim_url, access_token=TOKEN)) as client:
        yield client


@pytest.fixture
def messaging(api_client):
    """The SDK's MessagingApi against the simulator."""
    return MessagingApi(api_client)


@pytest.fixture
def blob(api_client):
    """The SDK's MessagingApiBlob against the simulator."""
    return MessagingApiBlob(api_client)


@pytest.fixture
def friend(control):
    """A user who has added the account as a friend."""
    user_id = control.create_user("Hanako", picture_url="https://example.com/h.png", language="ja")
    control.follow(user_id)
    return user_id


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Debian's Chromium for pytest-playwright (Playwright's own browser download is not available)."""
    return {
        **browser_type_launch_args,
        "executable_path": "/usr/bin/chromium",
        "args": ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
    }
