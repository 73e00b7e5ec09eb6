"""Templates through the REST API, and broadcasts that start from a template (messages copied, images as
absolute https URLs under PUBLIC_BASE_URL)."""

import json
import re

import pytest
from sqlmodel import select

from crm.broadcasts.models import Broadcast
from crm.db import get_engine, session_scope
from crm.message_templates import images
from tests.api.helpers import api_client
from tests.console_helpers import csrf_token, signed_in_client
from tests.factories import make_template
from tests.message_templates.helpers import image_bytes

BASE = "https://crm.example.jp"
CONFIRM = {
    "type": "template",
    "altText": "参加確認",
    "template": {
        "type": "confirm",
        "text": "参加しますか？",
        "actions": [
            {"type": "message", "label": "はい", "text": "はい"},
            {"type": "message", "label": "いいえ", "text": "いいえ"},
        ],
    },
}


@pytest.fixture
def https_app(make_app):
    return make_app(PUBLIC_BASE_URL=BASE)


def _uploaded_image_message(app) -> dict:
    with session_scope(get_engine(app)) as session:
        return images.image_message(images.store_image(session, data=image_bytes()))


def test_api_lists_by_folder_and_reads_one_ready_to_send(https_app):
    image = _uploaded_image_message(https_app)
    first = make_template(https_app, [image, CONFIRM], name="参加確認", folder="イベント")
    make_template(https_app, name="ご挨拶")
    make_template(https_app, name="古い", archived=True)
    client = api_client(https_app, "marketer")
    listed = client.get("/api/v1/templates").get_json()
    greeting = "友だち追加のあいさつ"  # every new account has it
    assert [row["name"] for row in listed["data"]] == ["ご挨拶", greeting, "参加確認"] and listed["next_cursor"] is None
    assert [row["name"] for row in client.get("/api/v1/templates?folder=イベント").get_json()["data"]] == ["参加確認"]
    assert [row["name"] for row in client.get("/api/v1/templates?archived=true").get_json()["data"]] == ["古い"]
    paged = client.get("/api/v1/templates?limit=1").get_json()
    assert (
        len(paged["data"]) == 1
        and client.get(f"/api/v1/templates?limit=1&cursor={paged['next_cursor']}").get_json()["data"][0]["name"]
        == greeting
    )
    one = client.get(f"/api/v1/templates/{first}").get_json()
    assert one["messages"][1] == CONFIRM
    assert one["messages"][0]["originalContentUrl"] == BASE + image["originalContentUrl"]
    assert client.get("/api/v1/templates/99999").status_code == 404
    assert api_client(https_app, "analyst").get("/api/v1/templates").status_code == 403


def test_a_broadcast_starts_from_a_template(https_app):
    image = _uploaded_image_message(https_app)
    template_id = make_template(https_app, [{"type": "text", "text": "{name}さん"}, image, CONFIRM], name="春の案内")
    client = signed_in_client(https_app, "marketer")
    page = client.get(f"/broadcasts/new?template={template_id}").get_data(as_text=True)
    assert 'value="春の案内"' in page and "参加しますか？" in page
    form = {
        "csrf_token": csrf_token(client, "/broadcasts/new"),
        "name": "春の案内",
        "messages-0-kind": "text",
        "messages-0-text": "{name}さん",
        "messages-1-kind": "image",
        "messages-1-image_url": re.search(r'name="messages-1-image_url"[^>]*value="([^"]+)"', page).group(1),
        "messages-1-preview_url": re.search(r'name="messages-1-preview_url"[^>]*value="([^"]+)"', page).group(1),
        "messages-2-kind": "template",
        "messages-2-template": json.dumps(CONFIRM, ensure_ascii=False),
        "segment": "",
        "track_links": "y",
        "control_percent": "0",
        "goal_days": "7",
    }
    response = client.post("/broadcasts/new", data=form)
    assert response.status_code == 302, response.get_data(as_text=True)
    with session_scope(get_engine(https_app)) as session:
        [broadcast] = session.exec(select(Broadcast)).all()
        messages = json.loads(broadcast.messages)
    assert messages[1]["originalContentUrl"] == BASE + image["originalContentUrl"]
    assert messages[2] == CONFIRM
    assert client.get("/broadcasts/new?template=99999").status_code == 404
