"""The console's segment builder and friend list refuse crafted input clearly: JSON nested thousands deep and
trees too large get the builder's error (400 with a path), a damaged page link shows the first page."""

from __future__ import annotations

import json

from tests.console_helpers import csrf_token, post_form, signed_in_client
from tests.factories import make_friend

DEEP_JSON = "[" * 40_000 + "]" * 40_000  # within the size limit, far beyond the JSON decoder's recursion limit
WIDE_TREE = json.dumps({"type": "all", "conditions": [{"type": "any", "conditions": []}] * 1000})


def test_builder_count_refuses_deep_json_and_huge_trees_with_its_error(app):
    client = signed_in_client(app, "analyst")
    headers = {"X-CSRFToken": csrf_token(client, "/segments")}
    for body in (DEEP_JSON, WIDE_TREE):
        response = client.post("/segments/count", data=body, content_type="application/json", headers=headers)
        assert response.status_code == 400 and response.json["error"], body[:40]
    wide = client.post("/segments/count", data=WIDE_TREE, content_type="application/json", headers=headers)
    assert wide.json["path"] == "conditions[99]" and "100" in wide.json["error"]


def test_saving_a_segment_with_deep_json_shows_the_form_again(app):
    client = signed_in_client(app, "marketer")
    response = post_form(client, "/segments/new", {"name": "深すぎる", "tree": DEEP_JSON}, "/segments/new")
    assert response.status_code == 400 and "深すぎる" in response.get_data(as_text=True)


def test_friend_list_with_a_crafted_page_link_shows_the_first_page(app):
    make_friend(app, display_name="山田花子")
    client = signed_in_client(app, "admin")
    for cursor in ("n_99999999999999999999", "99999999999999999999999_1", "n_²"):
        response = client.get("/friends", query_string={"after": cursor})
        page = response.get_data(as_text=True)
        assert response.status_code == 200 and "山田花子" in page and "ページのリンクが壊れている" in page, cursor
