"""A multicast's request body: the JSON the SDK's own validated MulticastRequest gives, with the retry key."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from linebot.v3.messaging import ApiClient, Configuration, Message, MulticastRequest

from crm.line.client import LineClient

MESSAGES = [
    {"type": "text", "text": "週末セール開催中！"},
    {
        "type": "text",
        "text": "どれにしますか？",
        "quickReply": {"items": [{"type": "action", "action": {"type": "message", "label": "A", "text": "A"}}]},
    },
    {
        "type": "image",
        "originalContentUrl": "https://example.jp/a.jpg",
        "previewImageUrl": "https://example.jp/a_s.jpg",
    },
]


class _Recorder(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):  # noqa: N802 (http.server's name)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((self.path, dict(self.headers), json.loads(body)))
        answer = b"{}"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Line-Request-Id", "req-1")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *_args):
        pass


@pytest.fixture
def recorder():
    _Recorder.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", _Recorder.received
    server.shutdown()
    server.server_close()


def test_a_multicast_of_500_sends_the_sdks_own_json_with_the_retry_key(recorder):
    base, received = recorder
    user_ids = [f"U{index:032x}" for index in range(500)]
    client = LineClient(api_base=base, access_token="token")

    request_id = client.multicast_messages(user_ids, MESSAGES, retry_key="123e4567-e89b-12d3-a456-426614174000")

    [(path, headers, body)] = received
    validated = MulticastRequest(to=user_ids, messages=[Message.from_dict(message) for message in MESSAGES])
    expected = ApiClient(Configuration(access_token="token")).sanitize_for_serialization(validated)
    assert (path, body) == ("/v2/bot/message/multicast", expected)
    assert body["to"] == user_ids
    assert headers["X-Line-Retry-Key"] == "123e4567-e89b-12d3-a456-426614174000"
    assert request_id == "req-1"


def test_the_messages_are_still_validated(recorder):
    base, received = recorder
    client = LineClient(api_base=base, access_token="token")
    with pytest.raises(ValueError):
        client.multicast_messages(["U" + "0" * 32], [{"type": "text"}], retry_key="k")
    assert received == []
