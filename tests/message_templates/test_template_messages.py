"""Template messages (buttons, confirm, carousel, image carousel): LINE's limits at and over each limit, errors
naming the message and the part, placeholders and neutral address, tracked uri actions, uploaded image URLs."""

import copy
import re

import pytest
from sqlmodel import select

from crm.db import get_engine, session_scope
from crm.friends.models import Friend
from crm.i18n import message_of
from crm.message_templates import content, media
from crm.message_templates.placeholders import fill_placeholders
from crm.tracking.models import LinkToken, TrackedLink
from tests.broadcasts.delivery.helpers import BASE
from tests.factories import make_friend

TRACKED = re.compile(r"https://crm\.example\.jp/r/[A-Za-z0-9_-]{22}")
KEY = "ab" * 32
URI = {"type": "uri", "label": "詳しく見る", "uri": "https://shop.example.jp/item"}
MESSAGE = {"type": "message", "label": "はい", "text": "はい"}
POSTBACK = {"type": "postback", "label": "予約する", "data": "reserve=1", "displayText": "予約します"}
PICKER = {"type": "datetimepicker", "label": "日時を選ぶ", "data": "pick", "mode": "datetime"}


def buttons(**template):
    body = {"type": "buttons", "text": "ご予約はこちら", "actions": [URI], **template}
    return {"type": "template", "altText": "ご予約のご案内", "template": body}


def confirm(**template):
    answers = [MESSAGE, {**MESSAGE, "label": "いいえ"}]
    body = {"type": "confirm", "text": "参加しますか？", "actions": answers, **template}
    return {"type": "template", "altText": "参加確認", "template": body}


def card(**column):
    return {"text": "春の新作", "actions": [URI], **column}


def carousel(*columns):
    return {"type": "template", "altText": "新作", "template": {"type": "carousel", "columns": list(columns)}}


def image_carousel(*columns):
    return {"type": "template", "altText": "写真", "template": {"type": "image_carousel", "columns": list(columns)}}


PHOTO = {"imageUrl": "https://img.example.jp/a.jpg", "action": {**URI, "label": "見る"}}


@pytest.mark.db_agnostic
@pytest.mark.parametrize(
    "message",
    [
        buttons(),
        buttons(title="t" * 40, text="あ" * 60, thumbnailImageUrl="https://img.example.jp/a.jpg"),
        buttons(text="あ" * 160, actions=[URI, MESSAGE, POSTBACK, PICKER]),
        buttons(defaultAction=URI) | {"altText": "a" * 400},
        buttons(actions=[{**URI, "label": "あ" * 20, "uri": "https://a.jp/" + "x" * 987}]),
        buttons(actions=[{**PICKER, "mode": "date", "initial": "2026-12-24", "min": "2026-12-01"}]),
        buttons(actions=[{**MESSAGE, "text": "あ" * 300}, {**POSTBACK, "data": "d" * 300, "displayText": "x" * 300}]),
        confirm(text="あ" * 240),
        carousel(*[card() for _ in range(10)]),
        carousel(card(title="A", actions=[URI, MESSAGE, POSTBACK]), card(title="B", actions=[URI, URI, URI])),
        carousel(card(text="あ" * 120), card(text="あ" * 120)),
        carousel(card(title="A", text="あ" * 60), card(title="B", text="あ" * 60)),
        image_carousel(*[PHOTO] * 10),
        image_carousel({**PHOTO, "action": {**URI, "label": "あ" * 12}}),
    ],
)
def test_template_messages_at_the_limits_are_accepted(message):
    assert content.validate_messages([message])[0]["template"]["type"] == message["template"]["type"]


# (message, the part named, the problem's msgid start)
OVER_THE_LIMIT = [
    (buttons() | {"altText": "a" * 401}, "the notification text", "it is required"),
    (buttons() | {"altText": " "}, "the notification text", "it is required"),
    (buttons(title="t" * 41), "the title", "it must be at most"),
    (buttons(text="あ" * 161), "the text", "it is required"),
    (buttons(title="t", text="あ" * 61), "the text", "it is required"),
    (buttons(thumbnailImageUrl="https://img.example.jp/a.jpg", text="あ" * 61), "the text", "it is required"),
    (buttons(thumbnailImageUrl="http://img.example.jp/a.jpg"), "the image", "use an https image"),
    (buttons(actions=[]), "the buttons", "use between"),
    (buttons(actions=[URI] * 5), "the buttons", "use between"),
    (buttons(actions=[{**URI, "label": "あ" * 21}]), "button 1's label", "it is required"),
    (buttons(actions=[URI, {**URI, "label": ""}]), "button 2's label", "it is required"),
    (buttons(actions=[{**URI, "uri": "https://a.jp/" + "x" * 988}]), "button 1", "the link must"),
    (buttons(actions=[{**URI, "uri": "javascript:alert(1)"}]), "button 1", "the link must"),
    (buttons(actions=[{**MESSAGE, "text": "あ" * 301}]), "button 1's text to send", "it is required"),
    (buttons(actions=[{**POSTBACK, "data": "d" * 301}]), "button 1's data", "it is required"),
    (buttons(actions=[{**POSTBACK, "displayText": "x" * 301}]), "button 1's displayed text", "it must be"),
    (buttons(actions=[{**PICKER, "mode": "week"}]), "button 1", "choose a date"),
    (buttons(actions=[{**PICKER, "mode": "date", "initial": "2026/12/24"}]), "button 1", "%(key)s is not"),
    (buttons(actions=[{"type": "camera", "label": "カメラ"}]), "button 1", "use a link"),
    (buttons(defaultAction={**URI, "uri": "ftp://a"}), "the tap action", "the link must"),
    (confirm(text="あ" * 241), "the text", "it is required"),
    (confirm(actions=[MESSAGE]), "the buttons", "a confirm message"),
    (confirm(actions=[MESSAGE] * 3), "the buttons", "a confirm message"),
    (carousel(*[card() for _ in range(11)]), "the cards", "use between 1 and"),
    (carousel(), "the cards", "use between 1 and"),
    (carousel(card(text="あ" * 121)), "card 1, the text", "it is required"),
    (carousel(card(), card(title="B", text="あ" * 61)), "card 2, the text", "it is required"),
    (carousel(card(actions=[URI] * 4)), "card 1, the buttons", "use between"),
    (carousel(card(), card(actions=[URI, MESSAGE])), "the cards", "every card needs the same"),
    (carousel(card(title="A"), card()), "the cards", "if one card has a title"),
    (carousel(card(thumbnailImageUrl="https://img.example.jp/a.jpg"), card()), "the cards", "if one card has an"),
    (carousel(card(), card(actions=[{**URI, "label": "あ" * 21}])), "card 2, button 1's label", "it is required"),
    (image_carousel(*[PHOTO] * 11), "the cards", "use between 1 and"),
    (image_carousel({**PHOTO, "imageUrl": "http://img.example.jp/a.jpg"}), "card 1, the image", "use an https"),
    (image_carousel({**PHOTO, "action": {**URI, "label": "あ" * 13}}), "card 1, the image's label", "it must be"),
    (image_carousel({"imageUrl": PHOTO["imageUrl"]}), "card 1, the image", "choose what tapping"),
    ({"type": "template", "altText": "x", "template": {"type": "list"}}, "the template", "use buttons"),
]


@pytest.mark.db_agnostic
@pytest.mark.parametrize("message, part, problem", OVER_THE_LIMIT)
def test_over_each_limit_names_the_message_and_part(message, part, problem):
    with pytest.raises(content.ContentError) as caught:
        content.validate_messages([{"type": "text", "text": "こんにちは"}, message])
    error = caught.value
    assert error.index == 1
    assert error.params["number"] == 2
    assert str(error.params["part"]) == part
    assert error.params["problem"].msgid.startswith(problem)


@pytest.mark.db_agnostic
def test_errors_read_in_shop_japanese(app):
    with app.test_request_context():
        with pytest.raises(content.ContentError) as caught:
            content.validate_messages([carousel(card(), card(actions=[{**URI, "label": "あ" * 21}]))])
        assert message_of(caught.value) == "1通目・カード2のボタン1のラベル：必須で、20文字以内にしてください。"
        with pytest.raises(content.ContentError) as caught:
            content.validate_messages([confirm(actions=[MESSAGE])])
        assert message_of(caught.value) == "1通目・ボタン：確認メッセージのボタンはちょうど2個です。"


@pytest.mark.db_agnostic
def test_uploaded_image_references_only_where_allowed():
    image = {"type": "image", "originalContentUrl": f"/media/{KEY}.jpg", "previewImageUrl": f"/media/{KEY}/preview.jpg"}
    assert content.validate_messages([image], allow_uploaded=True) == [image]
    with pytest.raises(content.ContentError):
        content.validate_messages([image])
    for bad in (f"/media/{KEY}.gif", f"/media/{KEY[:-1]}.jpg", f"/media/../{KEY}.jpg"):
        with pytest.raises(content.ContentError):
            content.validate_messages([{**image, "originalContentUrl": bad}], allow_uploaded=True)
    assert media.referenced_keys([image, buttons(thumbnailImageUrl=f"/media/{'cd' * 32}.png")]) == {KEY, "cd" * 32}


# (text, name, expected): the placeholder and an honorific right after it become the neutral address
NEUTRAL_ADDRESS_TABLE = [
    ("{name}さん、こんにちは", "さくら", "さくらさん、こんにちは"),
    ("{name}さん、こんにちは", None, "お客様、こんにちは"),
    ("{name}さん、こんにちは", "", "お客様、こんにちは"),
    ("{name}さん、こんにちは", "  ", "お客様、こんにちは"),
    ("{name}様", None, "お客様"),
    ("{name}さま", None, "お客様"),
    ("{name}ちゃん", None, "お客様"),
    ("{name}くん", None, "お客様"),
    ("{name}殿", None, "お客様"),
    ("{name}", None, "お客様"),
    ("こんにちは、{name}！", None, "こんにちは、お客様！"),
    ("{name} さん", None, "お客様 さん"),  # not right after: the placeholder alone is replaced
    ("{name}さんさん", None, "お客様さん"),
    ("{name}様", "田中", "田中様"),
]


@pytest.mark.db_agnostic
@pytest.mark.parametrize("text, name, expected", NEUTRAL_ADDRESS_TABLE)
def test_neutral_address_never_leaves_an_honorific_after_an_empty_name(text, name, expected):
    assert fill_placeholders(text, name=name, fields={}) == expected


@pytest.mark.db_agnostic
def test_neutral_address_is_a_setting():
    assert fill_placeholders("{name}さん", name=None, fields={}, neutral_address="みなさま") == "みなさま"
    assert fill_placeholders("{name}さん", name=None, fields={}, neutral_address="") == ""


@pytest.mark.db_agnostic
def test_personal_when_template_texts_have_placeholders_or_tracked_uri_actions():
    assert content.is_personal([buttons(title="{name}さんへ")], track_links=False)
    assert content.is_personal([buttons() | {"altText": "{field:plan}"}], track_links=False)
    assert content.is_personal([buttons()], track_links=True)
    assert not content.is_personal([buttons()], track_links=False)
    assert not content.is_personal([confirm()], track_links=True)  # message actions only: nothing to track
    assert not content.is_personal([buttons(actions=[{**URI, "uri": "tel:0312345678"}])], track_links=True)
    assert content.field_keys([carousel(card(text="{field:plan}"), card(title="{field:city}"))]) == {"plan", "city"}


def _render(app, friend_id, messages, **kwargs):
    with session_scope(get_engine(app)) as session:
        friend = session.get(Friend, friend_id)
        return content.render(session, messages, friend=friend, base_url=BASE, broadcast_id=None, **kwargs)


def test_render_fills_template_texts_and_tracks_uri_actions_per_friend(app):
    sakura = make_friend(app, n=1, display_name="さくら")
    nameless = make_friend(app, n=2, display_name=None)
    stored = [buttons(title="{name}さんへ", text="{name}さん限定のご案内です", actions=[URI, POSTBACK])]
    kept = copy.deepcopy(stored)
    first = _render(app, sakura, stored, track_links=True, scenario_variant_id=7, source="template")
    second = _render(app, nameless, stored, track_links=True, scenario_variant_id=7, source="template")
    assert stored == kept  # the stored messages are never changed
    assert first[0]["template"]["title"] == "さくらさんへ"
    assert second[0]["template"]["text"] == "お客様限定のご案内です"
    uris = [out[0]["template"]["actions"][0]["uri"] for out in (first, second)]
    assert all(TRACKED.fullmatch(uri) for uri in uris) and uris[0] != uris[1]
    assert first[0]["template"]["actions"][1] == POSTBACK
    with session_scope(get_engine(app)) as session:
        link = session.exec(select(TrackedLink)).one()
        assert (link.destination, link.source, link.scenario_variant_id) == (URI["uri"], "template", 7)
        owners = {token.token: token.friend_id for token in session.exec(select(LinkToken))}
    assert [owners[uri.rsplit("/", 1)[1]] for uri in uris] == [sakura, nameless]


def test_render_cuts_filled_template_texts_to_line_limits(app):
    friend_id = make_friend(app, display_name="長" * 100)
    out = _render(app, friend_id, [buttons(title="{name}", text="{name}" + "あ" * 50)], track_links=False)
    assert len(out[0]["template"]["title"]) == 40 and len(out[0]["template"]["text"]) == 60


def test_render_makes_uploaded_images_absolute_under_the_base_url(app):
    friend_id = make_friend(app)
    image = {"type": "image", "originalContentUrl": f"/media/{KEY}.jpg", "previewImageUrl": f"/media/{KEY}/preview.jpg"}
    out = _render(app, friend_id, [image, buttons(thumbnailImageUrl=f"/media/{KEY}.png")], track_links=False)
    assert out[0]["originalContentUrl"] == f"{BASE}/media/{KEY}.jpg"
    assert out[0]["previewImageUrl"] == f"{BASE}/media/{KEY}/preview.jpg"
    assert out[1]["template"]["thumbnailImageUrl"] == f"{BASE}/media/{KEY}.png"
    with session_scope(get_engine(app)) as session:
        friend = session.get(Friend, friend_id)
        moved = content.render(
            session, [image], friend=friend, base_url="https://new.example.jp/", broadcast_id=None, track_links=False
        )
    assert moved[0]["originalContentUrl"] == f"https://new.example.jp/media/{KEY}.jpg"
