"""Control API and module-level behaviour: users, reset, settings, limits, the command line."""

from __future__ import annotations

import re

import pytest
import requests

from linesim import ids
from linesim.__main__ import parse_args
from linesim.client import SimulatorError
from linesim.errors import LineError
from linesim.richmenus import RichMenuStore


def test_created_users_have_line_style_ids_and_fields(control):
    user_id = control.create_user(
        "Taro", picture_url="https://e.x/t.png", language="en", status_message="hi", is_test_friend=True
    )
    assert re.fullmatch(r"U[0-9a-f]{32}", user_id)
    user = control.get_user(user_id)
    assert user["status"] == "new" and user["isTestFriend"] and user["profileConsent"]
    assert [u["userId"] for u in control.users()] == [user_id]
    assert control.follow(user_id)["status"] == 200
    assert control.get_user(user_id)["status"] == "following"


def test_bad_control_requests_are_refused(control, sim_url):
    with pytest.raises(SimulatorError) as caught:
        control.get_user("U" + "0" * 32)
    assert caught.value.status == 404
    response = requests.post(f"{sim_url}/_sim/users", json={"displayName": ""}, timeout=10)
    assert response.status_code == 400 and "displayName" in response.json()["error"]
    user_id = control.create_user("Bad")
    with pytest.raises(SimulatorError):
        control.send_message(user_id, {"type": "fax"})
    with pytest.raises(SimulatorError):
        control.set_fault("push", kind="explode")
    with pytest.raises(SimulatorError):
        control.redeliver("01ARZ3NDEKTSV4RRFFQ69G5FAV")


def test_reset_forgets_everything(control, line_api, friend):
    control.set_quota(1)
    control.configure(followersApi="forbidden")
    control.set_fault("*", count=None)
    control.reset()
    assert control.users() == []
    assert line_api.get("/v2/bot/message/quota").json() == {"type": "none"}
    assert line_api.get("/v2/bot/followers/ids").json() == {"userIds": []}
    assert [entry["path"] for entry in control.requests_log()] == ["/v2/bot/message/quota", "/v2/bot/followers/ids"]
    assert line_api.get("/v2/bot/message/quota").status_code == 200


def test_configure_reports_settings(control):
    settings = control.configure(replyTokenTtlSeconds=5, webhookTimeout=2)
    assert settings["replyTokenTtlSeconds"] == 5.0 and settings["webhookTimeout"] == 2.0
    with pytest.raises(SimulatorError):
        control.configure(followersApi="maybe")


def test_every_response_carries_a_request_id(sim_url):
    for path in ("/", "/_sim/users", "/v2/bot/nothing-here"):
        response = requests.get(sim_url + path, timeout=10)
        assert re.fullmatch(r"[0-9a-f-]{36}", response.headers["X-Line-Request-Id"])
    assert requests.get(sim_url + "/v2/bot/nothing-here", timeout=10).status_code == 404


def test_rich_menu_and_alias_counts_are_capped_at_1000():
    store = RichMenuStore()
    menu_ids = [store.create({"name": str(index)}) for index in range(1000)]
    with pytest.raises(LineError) as caught:
        store.create({"name": "one too many"})
    assert caught.value.status == 400
    store.images[menu_ids[0]] = (b"", "image/png")
    for index in range(1000):
        store.create_alias(f"a{index}", menu_ids[0])
    with pytest.raises(LineError):
        store.create_alias("a1000", menu_ids[0])


def test_ids_have_line_formats():
    assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{26}", ids.ulid())
    assert ids.ulid(0).startswith("0000000000")
    assert re.fullmatch(r"\d{18}", ids.message_id())
    assert re.fullmatch(r"richmenu-[0-9a-f]{32}", ids.rich_menu_id())


def test_command_line_falls_back_to_environment(monkeypatch):
    monkeypatch.setenv("LINE_CHANNEL_SECRET", "env-secret")
    monkeypatch.setenv("LINE_CHANNEL_ACCESS_TOKEN", "env-token")
    monkeypatch.setenv("SIM_WEBHOOK_URL", "http://127.0.0.1:5000/callback")
    args = parse_args(["--port", "5002"])
    assert (args.channel_secret, args.access_token, args.webhook_url, args.port) == (
        "env-secret",
        "env-token",
        "http://127.0.0.1:5000/callback",
        5002,
    )
    assert parse_args(["--access-token", "cli"]).access_token == "cli"
