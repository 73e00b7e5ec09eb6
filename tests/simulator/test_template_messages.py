"""Template messages in the simulator: validated as LINE does (over HTTP), shown in the chat with buttons drawn
as LINE draws them, and taps that reach the webhook (postback, message) or open the link (uri)."""

from __future__ import annotations

import json

import pytest

from tests.simulator.test_chat_page import actions_in, panel

URI = {"type": "uri", "label": "予約", "uri": "https://shop.example.jp/r"}
MESSAGE = {"type": "message", "label": "はい", "text": "はい"}
HTTP_IMAGE = "http://img.example.jp/a.jpg"
POSTBACK = {"type": "postback", "label": "参加", "data": "join=1", "displayText": "参加します"}


def template(body: dict, alt: str = "ご案内") -> dict:
    return {"type": "template", "altText": alt, "template": body}


def card(**column) -> dict:
    return {"text": "新作", "actions": [URI], **column}


def push(line_api, friend, *messages):
    return line_api.post("/v2/bot/message/push", {"to": friend, "messages": list(messages)})


@pytest.mark.parametrize(
    ("message", "prop", "text"),
    [
        (template({"type": "buttons", "actions": [URI]}), "messages[0].template.text", "must be specified"),
        (template({"type": "buttons", "text": "x", "actions": []}), "messages[0].template.actions", "Size must be"),
        (template({"type": "buttons", "text": "x", "actions": [{"type": "uri", "uri": "https://a.jp"}]}),
         "messages[0].template.actions[0].label", "must be specified"),
        (template({"type": "buttons", "text": "x", "thumbnailImageUrl": HTTP_IMAGE, "actions": [URI]}),
         "messages[0].template.thumbnailImageUrl", "HTTPS"),
        (template({"type": "confirm", "actions": [MESSAGE, MESSAGE]}),
         "messages[0].template.text", "must be specified"),
        (template({"type": "carousel", "columns": [card(), card(actions=[URI, MESSAGE])]}),
         "messages[0].template.columns", "The number of actions must be the same in all columns"),
        (template({"type": "carousel", "columns": [card(title="A"), card()]}),
         "messages[0].template.columns", "Either all columns or none must have title"),
        (template({"type": "image_carousel", "columns": [{"imageUrl": "https://img.example.jp/a.jpg"}]}),
         "messages[0].template.columns[0].action", "must be specified"),
    ],
)  # fmt: skip
def test_invalid_template_messages_are_refused_as_line_does(line_api, friend, message, prop, text):
    response = push(line_api, friend, message)
    assert response.status_code == 400
    details = response.json()["details"]
    assert any(detail["property"] == prop and text in detail["message"] for detail in details), details


def test_template_messages_show_with_tappable_buttons(sim_url, line_api, control, friend, receiver):
    buttons = template({"type": "buttons", "title": "ご予約", "text": "ご予約はこちら", "actions": [URI, POSTBACK]})
    confirm = template(
        {"type": "confirm", "text": "参加しますか？", "actions": [MESSAGE, {**MESSAGE, "label": "いいえ"}]}
    )
    carousel = template({"type": "carousel", "columns": [card(title="A"), card(title="B")]})
    assert push(line_api, friend, buttons, confirm, carousel).status_code == 200
    fragment = panel(sim_url, friend)
    for expected in ("ご予約はこちら", "参加しますか？", "template-confirm", "template-carousel"):
        assert expected in fragment
    labels = [action["label"] for action in actions_in(fragment)]
    assert labels == ["予約", "参加", "はい", "いいえ", "予約", "予約"]
    tapped = control.tap_action(friend, actions_in(fragment)[1])
    assert tapped["event"]["type"] == "postback" and tapped["event"]["postback"] == {"data": "join=1"}
    assert json.loads(receiver.last["body"])["events"][0]["postback"]["data"] == "join=1"
    answered = control.tap_action(friend, actions_in(fragment)[2])
    assert answered["event"]["message"]["text"] == "はい"
    opened = control.tap_action(friend, actions_in(fragment)[0])
    assert opened["uri"] == URI["uri"] and opened["event"] is None
