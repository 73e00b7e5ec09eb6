"""Flex message contents are JSON trees too: nested too deeply they are refused with the form's or the API's
error, never a 500, and nothing is saved."""

from __future__ import annotations

import json

import pytest
from sqlmodel import select

from crm.broadcasts.models import Broadcast
from tests.api.helpers import api_client
from tests.broadcasts.helpers import db
from tests.broadcasts.test_console import FORM, _client, _post

DEEP_JSON = "[" * 40_000 + "]" * 40_000  # within the form's size, far beyond the JSON decoder's recursion limit


def _nested_box(depth: int) -> dict:
    box: dict = {"type": "text", "text": "x"}
    for _ in range(depth):
        box = {"type": "box", "layout": "vertical", "contents": [box]}
    return {"type": "bubble", "body": box}


def _nothing_saved(app) -> bool:
    with db(app) as session:
        return session.exec(select(Broadcast)).all() == []


@pytest.mark.parametrize("contents", [DEEP_JSON, json.dumps(_nested_box(300))])
def test_composer_refuses_flex_json_nested_too_deeply(app, contents):
    client = _client(app)
    flex = {"messages-0-kind": "flex", "messages-0-alt_text": "x", "messages-0-flex": contents}
    response = _post(client, "/broadcasts/new", {**FORM, **flex}, "/broadcasts/new")
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and ("not valid JSON" in page or "nested too deeply" in page)
    assert _nothing_saved(app)


@pytest.mark.parametrize("depth", [100, 450])
def test_api_refuses_flex_contents_nested_too_deeply(app, depth):
    message = {"type": "flex", "altText": "x", "contents": _nested_box(depth)}
    body = json.dumps({"name": "Deep", "messages": [message]})
    response = api_client(app, "marketer").post("/api/v1/broadcasts", data=body, content_type="application/json")
    assert response.status_code in (400, 422), response.get_data(as_text=True)[:300]
    assert response.get_json()["error"]["message"]
    assert _nothing_saved(app)
