"""The phone-like chat page: renders, escapes user input, shows the bot's messages and rich menu."""

from __future__ import annotations

import html
import json
import re

import requests

from tests.simulator.images import png

XSS = "<script>alert(1)</script>"


def page(sim_url: str, user_id: str | None = None) -> str:
    response = requests.get(sim_url + "/", params={"user": user_id} if user_id else None, timeout=10)
    assert response.status_code == 200
    return response.text


def panel(sim_url: str, user_id: str) -> str:
    response = requests.get(f"{sim_url}/chat/{user_id}/panel", timeout=10)
    assert response.status_code == 200
    return response.text


def actions_in(fragment: str) -> list[dict]:
    """The action objects of the buttons in a fragment, as the page's script reads them."""
    return [json.loads(html.unescape(raw)) for raw in re.findall(r"data-action='([^']*)'", fragment)]


def test_empty_page_renders_with_local_assets_only(sim_url):
    body = page(sim_url)
    assert "LINE simulator" in body and "New friend" in body
    assert not re.search(r"""(src|href)=["']https?://""", body)
    for asset in ("chat.js", "chat.css"):
        assert requests.get(f"{sim_url}/_sim/static/{asset}", timeout=10).status_code == 200


def test_friend_names_are_escaped_and_test_friends_marked(sim_url, control):
    user_id = control.create_user(XSS, is_test_friend=True)
    control.follow(user_id)
    control.send_text(user_id, "<b>bold?</b>")
    body = page(sim_url, user_id)
    assert XSS not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "&lt;b&gt;bold?&lt;/b&gt;" in body
    assert "テスト Test" in body


def test_creating_a_friend_from_the_form_opens_their_chat(sim_url, control):
    response = requests.post(
        f"{sim_url}/chat/users",
        data={"displayName": "Form Friend", "isTestFriend": "on"},
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 302
    [user] = control.users()
    assert user["displayName"] == "Form Friend" and user["isTestFriend"] and not user["profileConsent"]
    assert response.headers["Location"].endswith(f"/?user={user['userId']}")


def test_the_composer_sends_without_javascript(sim_url, friend, receiver):
    response = requests.post(
        f"{sim_url}/chat/{friend}/messages", data={"text": "  こんにちは "}, allow_redirects=False, timeout=10
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/?user={friend}")
    events = [event for call in receiver.calls for event in json.loads(call["body"])["events"]]
    assert events[-1]["message"]["text"] == "こんにちは"
    assert "こんにちは" in panel(sim_url, friend)


def test_bot_messages_render_with_tappable_actions(sim_url, line_api, control, friend):
    quick = {
        "items": [
            {"type": "action", "action": {"type": "message", "label": "Yes", "text": "yes"}},
            {"type": "action", "action": {"type": "postback", "label": "No", "data": "a=no"}},
        ]
    }
    buttons = {
        "type": "template",
        "altText": "Survey",
        "template": {
            "type": "buttons",
            "title": "Q1",
            "text": "How was it?",
            "actions": [{"type": "uri", "label": "Site", "uri": "https://example.com/?a=1&b=2"}],
        },
    }
    flex = {
        "type": "flex",
        "altText": "Flex alt",
        "contents": {
            "type": "bubble",
            "body": {
                "type": "box",
                "layout": "vertical",
                "contents": [
                    {"type": "text", "text": "Flex <title>", "weight": "bold"},
                    {"type": "button", "action": {"type": "postback", "label": "Pick", "data": "pick=1"}},
                ],
            },
        },
    }
    line_api.post(
        "/v2/bot/message/push",
        {
            "to": friend,
            "messages": [
                {"type": "sticker", "packageId": "446", "stickerId": "1988"},
                buttons,
                flex,
                {"type": "text", "text": "Choose", "quickReply": quick},
            ],
        },
    )
    fragment = panel(sim_url, friend)
    for expected in ("Sticker 446/1988", "Q1", "How was it?", "Flex alt", "Flex &lt;title&gt;", "Choose"):
        assert expected in fragment
    assert [action.get("label") for action in actions_in(fragment)] == ["Site", "Pick", "Yes", "No"]
    assert actions_in(fragment)[0]["uri"] == "https://example.com/?a=1&b=2"


def test_tapping_a_quick_reply_sends_its_text(control, friend, receiver):
    result = control.tap_action(friend, {"type": "message", "label": "Yes", "text": "yes"})
    assert result["event"]["message"]["text"] == "yes"
    result = control.tap_action(friend, {"type": "postback", "label": "No", "data": "a=no", "displayText": "No!"})
    assert result["event"]["postback"] == {"data": "a=no"}
    assert control.timeline(friend)[-1]["displayText"] == "No!"
    uri = control.tap_action(friend, {"type": "uri", "label": "Go", "uri": "https://example.com"})
    assert uri["uri"] == "https://example.com" and uri["event"] is None


def test_rich_menu_renders_with_clickable_areas(sim_url, line_api, friend):
    menu = {
        "size": {"width": 800, "height": 540},
        "selected": True,
        "name": "M",
        "chatBarText": "Tap <here>",
        "areas": [
            {
                "bounds": {"x": 0, "y": 0, "width": 400, "height": 540},
                "action": {"type": "postback", "label": "Left", "data": "l"},
            },
            {
                "bounds": {"x": 400, "y": 0, "width": 400, "height": 540},
                "action": {"type": "uri", "label": "Right", "uri": "https://example.com"},
            },
        ],
    }
    menu_id = line_api.post("/v2/bot/richmenu", menu).json()["richMenuId"]
    line_api.call(
        "POST", f"/v2/bot/richmenu/{menu_id}/content", data=png(800, 540), headers={"Content-Type": "image/png"}
    )
    line_api.post(f"/v2/bot/user/{friend}/richmenu/{menu_id}")
    fragment = panel(sim_url, friend)
    assert f"/_sim/richmenus/{menu_id}/image" in fragment
    assert fragment.count('class="richmenu-area"') == 2
    assert "left: 50.0%" in fragment and "Tap &lt;here&gt;" in fragment
    image = requests.get(f"{sim_url}/_sim/richmenus/{menu_id}/image", timeout=10)
    assert image.headers["Content-Type"] == "image/png"
