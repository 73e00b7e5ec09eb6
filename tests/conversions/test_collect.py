"""POST /cv/collect and /cv.js over the test client: CORS per point, preflight, forged click ids, no cookies."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from crm.tracking.click_ids import PARAMETER
from tests.conversions.helpers import conversions, make_point, tracked_path
from tests.factories import make_friend

SHOP = "https://shop.example"


def _click_id(app, client, friend_id: int) -> str:
    location = client.get(tracked_path(app, friend_id, f"{SHOP}/lp")).headers["Location"]
    return parse_qs(urlsplit(location).query)[PARAMETER][0]


def test_the_script_is_served_as_javascript_for_other_origins(client):
    answer = client.get("/cv.js")
    assert answer.status_code == 200
    assert answer.mimetype == "text/javascript"
    assert "crm_click" in answer.get_data(as_text=True)
    assert answer.headers["Cross-Origin-Resource-Policy"] == "cross-origin"


def test_the_preflight_answers_an_allowed_origin_only(app, client):
    make_point(app, origins=SHOP)
    allowed = client.options("/cv/collect", headers={"Origin": SHOP, "Access-Control-Request-Method": "POST"})
    assert allowed.status_code == 204
    assert allowed.headers["Access-Control-Allow-Origin"] == SHOP
    assert "Access-Control-Allow-Credentials" not in allowed.headers
    other = client.options("/cv/collect", headers={"Origin": "https://evil.example"})
    assert other.status_code == 403
    assert "Access-Control-Allow-Origin" not in other.headers


def test_a_thank_you_page_records_a_conversion_once_per_order(app, client):
    friend_id, point = make_friend(app), make_point(app, origins=SHOP)
    body = {"point_id": point, "click_id": _click_id(app, client, friend_id), "value": 2980, "order_id": "W-1"}
    first = client.post("/cv/collect", json=body, headers={"Origin": SHOP})
    assert first.status_code == 201
    assert first.headers["Access-Control-Allow-Origin"] == SHOP
    assert "Set-Cookie" not in first.headers
    again = client.post("/cv/collect", json=body, headers={"Origin": SHOP})
    assert again.get_json() == {"status": "duplicate_order"}
    assert [(c.friend_id, c.value, c.source) for c in conversions(app)] == [(friend_id, 2980, "link")]


def test_another_origin_or_another_points_origin_is_refused(app, client):
    friend_id = make_friend(app)
    point = make_point(app, origins=SHOP)
    other_point = make_point(app, "予約", origins="https://booking.example")
    body = {"point_id": point, "click_id": _click_id(app, client, friend_id), "value": 1}
    assert client.post("/cv/collect", json=body, headers={"Origin": "https://evil.example"}).status_code == 403
    wrong_point = {**body, "point_id": other_point}
    assert client.post("/cv/collect", json=wrong_point, headers={"Origin": SHOP}).status_code == 403
    assert client.post("/cv/collect", json=body).status_code == 403  # no Origin at all
    assert conversions(app) == []


def test_a_forged_or_tampered_click_id_is_refused(app, client):
    friend_id, point = make_friend(app), make_point(app, origins=SHOP)
    genuine = _click_id(app, client, friend_id)
    encoded, mac = genuine.split(".")
    for forged in (f"{encoded}.{'A' * len(mac)}", f"AAAB.{mac}", "1", None, 42):
        answer = client.post(
            "/cv/collect", json={"point_id": point, "click_id": forged, "value": 1}, headers={"Origin": SHOP}
        )
        assert answer.status_code == 403, forged
    assert conversions(app) == []


def test_a_bad_value_is_answered_with_a_message(app, client):
    friend_id, point = make_friend(app), make_point(app, origins=SHOP)
    body = {"point_id": point, "click_id": _click_id(app, client, friend_id), "value": "lots"}
    answer = client.post("/cv/collect", json=body, headers={"Origin": SHOP})
    assert answer.status_code == 422
    assert answer.get_json()["status"] == "invalid"
    assert conversions(app) == []
