"""POST /api/v1/conversions: each identifier, duplicates by order id, first-only counting, forged click ids,
validation errors; GET per friend and point."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from crm.tracking.click_ids import PARAMETER
from tests.api.helpers import api_client
from tests.conversions.helpers import conversions, make_point, tracked_path
from tests.factories import line_user_id, make_friend


@pytest.fixture
def api(app):
    return api_client(app, "marketer")


def test_a_conversion_by_friend_id_then_the_same_order_id_answers_the_stored_one(app, api):
    friend_id, point = make_friend(app), make_point(app)
    body = {"point_id": point, "friend_id": friend_id, "value": 3980, "order_id": "A-1"}
    first = api.post("/api/v1/conversions", json=body)
    assert first.status_code == 201, first.get_json()
    assert first.get_json()["status"] == "created"
    again = api.post("/api/v1/conversions", json={**body, "value": 1})
    assert again.status_code == 200
    assert again.get_json()["status"] == "duplicate_order"
    assert again.get_json()["id"] == first.get_json()["id"]
    assert again.get_json()["value"] == 3980
    assert [(c.value, c.order_id, c.source) for c in conversions(app)] == [(3980, "A-1", "api")]


def test_a_conversion_by_line_user_id(app, api):
    friend_id, point = make_friend(app, n=7), make_point(app)
    answer = api.post("/api/v1/conversions", json={"point_id": point, "line_user_id": line_user_id(7), "value": 500})
    assert answer.status_code == 201
    assert answer.get_json()["friend_id"] == friend_id


def test_a_conversion_by_click_id_is_attributed_to_the_link(app, api, client):
    friend_id = make_friend(app)
    point = make_point(app, origins="https://shop.example")  # links to the shop carry click ids
    redirect = client.get(tracked_path(app, friend_id, "https://shop.example/item?a=1"))
    location = redirect.headers["Location"]
    assert location.startswith("https://shop.example/item?a=1&crm_click=")
    click_id = parse_qs(urlsplit(location).query)[PARAMETER][0]
    answer = api.post("/api/v1/conversions", json={"point_id": point, "click_id": click_id, "value": 1200})
    assert answer.status_code == 201
    assert answer.get_json()["friend_id"] == friend_id
    assert answer.get_json()["link_id"] is not None


def test_links_elsewhere_carry_no_click_id(app, client):
    friend_id = make_friend(app)
    make_point(app, origins="https://shop.example")
    location = client.get(tracked_path(app, friend_id, "https://shop.example.evil.test/x")).headers["Location"]
    assert location == "https://shop.example.evil.test/x"


@pytest.mark.parametrize("forged", ["AQ.AAAAAAAAAAAAAAAA", "AQ", "x" * 65, "AQ.AAAAAAAAAAAAAAAA.x", ""])
def test_a_forged_click_id_is_refused(app, api, client, forged):
    friend_id, point = make_friend(app), make_point(app, origins="https://shop.example")
    client.get(tracked_path(app, friend_id, "https://shop.example/"))  # a real click exists: id 1
    answer = api.post("/api/v1/conversions", json={"point_id": point, "click_id": forged, "value": 1})
    assert answer.status_code in (404, 422)
    assert conversions(app) == []


def test_a_first_only_point_counts_a_friend_once(app, api):
    friend_id, point = make_friend(app), make_point(app, value_type="none", counting="first")
    first = api.post("/api/v1/conversions", json={"point_id": point, "friend_id": friend_id, "order_id": "1"})
    second = api.post("/api/v1/conversions", json={"point_id": point, "friend_id": friend_id, "order_id": "2"})
    assert (first.status_code, second.status_code) == (201, 200)
    assert second.get_json()["status"] == "already_converted"
    assert second.get_json()["id"] == first.get_json()["id"]
    assert len(conversions(app)) == 1


def test_an_every_time_point_counts_each_order(app, api):
    friend_id, point = make_friend(app), make_point(app)
    for order in ("1", "2"):
        body = {"point_id": point, "friend_id": friend_id, "order_id": order, "value": 100}
        assert api.post("/api/v1/conversions", json=body).status_code == 201
    assert len(conversions(app)) == 2


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"friend_id": 1, "value": 1}, 422),  # no point
        ({"point_id": 99, "friend_id": 1, "value": 1}, 404),
        ({"friend_id": 1, "line_user_id": "U" + "0" * 32, "value": 1}, 422),  # two identifiers
        ({"value": 1}, 422),  # none
        ({"friend_id": 999, "value": 1}, 404),
        ({"friend_id": 1}, 422),  # a yen point needs a value
        ({"friend_id": 1, "value": -5}, 422),
        ({"friend_id": 1, "value": "100"}, 422),
        ({"friend_id": 1, "value": 1, "order_id": "x" * 101}, 422),
    ],
)
def test_bad_requests_are_refused_as_the_api_does_elsewhere(app, api, body, status):
    make_friend(app)
    point = make_point(app)
    body = {"point_id": point, **body} if "point_id" not in body and body != {"friend_id": 1, "value": 1} else body
    answer = api.post("/api/v1/conversions", json=body)
    assert answer.status_code == status, answer.get_json()
    assert "error" in answer.get_json()
    assert conversions(app) == []


def test_the_list_per_friend_and_point(app, api):
    one, two = make_friend(app, n=1), make_friend(app, n=2)
    point = make_point(app)
    for friend_id, order in ((one, "a"), (two, "b"), (one, "c")):
        api.post("/api/v1/conversions", json={"point_id": point, "friend_id": friend_id, "order_id": order, "value": 1})
    mine = api.get(f"/api/v1/conversions?friend_id={one}").get_json()["data"]
    assert [row["order_id"] for row in mine] == ["a", "c"]
    assert len(api.get(f"/api/v1/conversions?point_id={point}").get_json()["data"]) == 3


def test_a_role_without_the_permission_cannot_record(app):
    friend_id, point = make_friend(app), make_point(app)
    answer = api_client(app, "staff").post(
        "/api/v1/conversions", json={"point_id": point, "friend_id": friend_id, "value": 1}
    )
    assert answer.status_code == 403
