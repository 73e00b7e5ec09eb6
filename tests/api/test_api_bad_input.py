"""Crafted input gets a clear 400 in the API's error format, never a 500: damaged cursors on every paged list,
and JSON nested too deeply or condition trees too large for the segment count."""

from __future__ import annotations

import json

import pytest

from tests.api.helpers import api_client, seed
from tests.surveys.helpers import build_survey, free

CRAFTED_CURSORS = ("n_99999999999999999999", "99999999999999999999999_1", "n_²", "1_-5", "²", "99999999999")


def _bad_request(response, code: str) -> dict:
    assert response.status_code == 400, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert error["code"] == code and error["message"]
    return error


@pytest.mark.parametrize("cursor", CRAFTED_CURSORS)
def test_every_paged_list_refuses_a_crafted_cursor_with_400(app, cursor):
    ids, survey_id = seed(app), build_survey(app, free("ご意見は?"))
    client = api_client(app, "admin")
    for path in (
        "/api/v1/friends",
        "/api/v1/tags",
        "/api/v1/broadcasts",
        f"/api/v1/friends/{ids['friend_id']}/notes",
        f"/api/v1/surveys/{survey_id}/responses",
    ):
        error = _bad_request(client.get(path, query_string={"cursor": cursor}), "bad_cursor")
        assert "cursor" in error["details"], path


def _nested(depth: int) -> dict:
    tree: dict = {"type": "status", "value": "following"}
    for _ in range(depth):
        tree = {"type": "not", "condition": tree}
    return tree


def test_segment_count_refuses_json_nested_thousands_deep_with_400(app):
    client = api_client(app, "analyst")
    body = '{"tree": ' + '{"type": "not", "condition": ' * 5000 + "{}" + "}" * 5001
    response = client.post("/api/v1/segments/count", data=body, content_type="application/json")
    _bad_request(response, "bad_request")


def test_segment_count_refuses_trees_too_deep_or_too_large_with_the_path(app):
    client = api_client(app, "analyst")
    deep = client.post("/api/v1/segments/count", json={"tree": _nested(50)})
    assert deep.status_code == 422 and deep.get_json()["error"]["code"] == "invalid_tree"
    assert "5" in deep.get_json()["error"]["message"]
    wide = {"type": "all", "conditions": [{"type": "any", "conditions": []}] * 5000}
    response = client.post("/api/v1/segments/count", data=json.dumps({"tree": wide}), content_type="application/json")
    assert response.status_code == 422 and response.get_json()["error"]["code"] == "invalid_tree"
    assert "conditions[" in json.dumps(response.get_json()["error"]["details"])
