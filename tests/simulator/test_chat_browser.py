"""The chat page in a real browser: follow, chat, tap quick replies and the rich menu."""

from __future__ import annotations

import json
import os

import pytest
from playwright.sync_api import expect

from tests.simulator.images import png

pytestmark = [
    pytest.mark.skipif(not os.path.exists("/usr/bin/chromium"), reason="needs Debian's chromium"),
    # pytest-playwright's base_url fixture trips a pytest 9 deprecation warning (not ours to fix).
    pytest.mark.filterwarnings("ignore::pytest.PytestRemovedIn10Warning"),
]


def received(receiver) -> list[dict]:
    return [event for call in receiver.calls for event in json.loads(call["body"])["events"]]


def test_chatting_in_the_browser_sends_webhooks(page, sim_url, control, line_api, receiver):
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    user_id = control.create_user("<script>alert(1)</script>", is_test_friend=True)
    page.goto(f"{sim_url}/?user={user_id}")
    assert page.locator(".chat-header .name").inner_text() == "<script>alert(1)</script>"

    page.get_by_role("button", name="友だち追加 Add friend").click()
    page.get_by_role("button", name="ブロック Block").wait_for()
    assert received(receiver)[-1]["type"] == "follow"

    page.fill(".composer input", "こんにちは")
    page.press(".composer input", "Enter")
    page.locator(".bubble.user", has_text="こんにちは").wait_for()
    assert received(receiver)[-1]["message"]["text"] == "こんにちは"

    page.get_by_role("button", name="写真 Photo").click()
    page.locator(".bubble.user img.photo").wait_for()
    assert received(receiver)[-1]["message"]["type"] == "image"
    expect(page.locator(".bubble.user img.photo")).to_have_js_property("naturalWidth", 320)

    quick = {"items": [{"type": "action", "action": {"type": "message", "label": "はい Yes", "text": "yes"}}]}
    line_api.post(
        "/v2/bot/message/push", {"to": user_id, "messages": [{"type": "text", "text": "Choose", "quickReply": quick}]}
    )
    page.locator(".chip", has_text="はい Yes").click()
    page.locator(".bubble.user", has_text="yes").wait_for()
    assert received(receiver)[-1]["message"]["text"] == "yes"
    assert dialogs == []


def test_tapping_the_rich_menu_in_the_browser(page, sim_url, control, line_api, receiver):
    user_id = control.create_user("Menu user")
    control.follow(user_id)
    menu = {
        "size": {"width": 800, "height": 540},
        "selected": True,
        "name": "M",
        "chatBarText": "Menu",
        "areas": [
            {
                "bounds": {"x": 0, "y": 0, "width": 800, "height": 540},
                "action": {"type": "postback", "label": "Answer", "data": "q=1&a=2", "displayText": "A2"},
            }
        ],
    }
    menu_id = line_api.post("/v2/bot/richmenu", menu).json()["richMenuId"]
    line_api.call(
        "POST", f"/v2/bot/richmenu/{menu_id}/content", data=png(800, 540), headers={"Content-Type": "image/png"}
    )
    line_api.post(f"/v2/bot/user/{user_id}/richmenu/{menu_id}")
    page.goto(f"{sim_url}/?user={user_id}")
    page.locator(".richmenu-area").click()
    page.locator(".bubble.user", has_text="A2").wait_for()
    assert received(receiver)[-1]["postback"] == {"data": "q=1&a=2"}
