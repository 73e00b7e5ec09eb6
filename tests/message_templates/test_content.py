"""Broadcast content: validation with the SDK's models, push-or-multicast choice and per-friend rendering."""

import json
import re

import pytest
from sqlmodel import select

from crm.db import get_engine, session_scope
from crm.friends.models import Friend
from crm.message_templates import content
from crm.tracking import clicks as link_clicks
from crm.tracking.models import TrackedLink
from tests.broadcasts.delivery.helpers import BASE
from tests.factories import make_field, make_friend, set_field_value

TRACKED = re.compile(r"https://crm\.example\.jp/r/[A-Za-z0-9_-]{22}")
IMAGE = {
    "type": "image",
    "originalContentUrl": "https://img.example.jp/a.jpg",
    "previewImageUrl": "https://img.example.jp/a_s.jpg",
}
FLEX = {
    "type": "flex",
    "altText": "セールのお知らせ",
    "contents": {
        "type": "bubble",
        "body": {"type": "box", "layout": "vertical", "contents": [{"type": "text", "text": "SALE"}]},
    },
}


@pytest.mark.db_agnostic
def test_accepts_each_kind_and_returns_line_json():
    messages = [
        {"type": "text", "text": "こんにちは{name}さん"},
        IMAGE,
        {"type": "sticker", "packageId": "446", "stickerId": "1988"},
        FLEX,
    ]
    assert content.validate_messages(json.dumps(messages)) == messages


@pytest.mark.db_agnostic
@pytest.mark.parametrize(
    "data, index",
    [
        ("not json", None),
        ([], None),
        ([{"type": "text", "text": "x"}] * 6, None),
        ([{"type": "text", "text": "ok"}, {"type": "video"}], 1),
        ([{"type": "text", "text": "  "}], 0),
        ([{"type": "text", "text": "あ" * 5001}], 0),
        ([{"type": "text", "text": "😀" * 2501}], 0),  # 5,002 UTF-16 units
        ([{**IMAGE, "originalContentUrl": "http://img.example.jp/a.jpg"}], 0),
        ([{"type": "sticker", "packageId": "446"}], 0),
        ([{"type": "flex", "altText": "x", "contents": {"type": "bubble", "body": {"type": "box"}}}], 0),
        ([{**FLEX, "altText": ""}], 0),
        (["text"], 0),
    ],
)
def test_rejects_bad_messages_naming_the_message(data, index):
    with pytest.raises(content.ContentError) as caught:
        content.validate_messages(data)
    assert caught.value.index == index
    assert caught.value.msgid


@pytest.mark.db_agnostic
def test_text_at_the_limit_is_accepted():
    assert content.validate_messages([{"type": "text", "text": "😀" * 2500}])


@pytest.mark.db_agnostic
def test_personal_when_placeholders_or_tracked_links():
    plain = [{"type": "text", "text": "セール中"}, IMAGE]
    linked = [{"type": "text", "text": "詳しくは https://shop.example.jp/sale"}]
    assert not content.is_personal(plain, track_links=True)
    assert content.is_personal([{"type": "text", "text": "{name}さん"}], track_links=False)
    assert content.is_personal([{"type": "text", "text": "{field:plan}"}], track_links=False)
    assert content.is_personal(linked, track_links=True)
    assert not content.is_personal(linked, track_links=False)
    assert not content.is_personal([{"type": "text", "text": "{unknown} {field:} {field:Bad}"}], track_links=True)


@pytest.mark.db_agnostic
def test_test_mark_goes_on_the_first_text():
    marked = content.mark_as_test([IMAGE, {"type": "text", "text": "こんにちは"}])
    assert marked == [IMAGE, {"type": "text", "text": "[テスト] こんにちは"}]
    assert content.mark_as_test([IMAGE])[0] == {"type": "text", "text": "[テスト]"}


def _render(app, friend_id, messages, **kwargs):
    with session_scope(get_engine(app)) as session:
        friend = session.get(Friend, friend_id)
        return content.render(session, messages, friend=friend, base_url=BASE, broadcast_id=None, **kwargs)


def test_render_fills_name_and_fields_and_tracks_links(app):
    friend_id = make_friend(app, display_name="さくら")
    set_field_value(app, friend_id=friend_id, field_id=make_field(app, "plan"), value="gold")
    make_field(app, "city")  # defined, but no value for this friend
    messages = [
        {"type": "text", "text": "{name}様（{field:plan}/{field:city}/{field:nope}） https://shop.example.jp/a"},
        IMAGE,
    ]
    out = _render(app, friend_id, messages, track_links=True)
    assert TRACKED.sub("URL", out[0]["text"]) == "さくら様（gold//） URL"
    assert out[1] == IMAGE
    with session_scope(get_engine(app)) as session:
        link = session.exec(select(TrackedLink)).one()
        assert (link.destination, link.source) == ("https://shop.example.jp/a", "broadcast")
    token = TRACKED.search(out[0]["text"]).group().rsplit("/", 1)[1]
    with session_scope(get_engine(app)) as session:
        assert link_clicks.find_target(session.connection(), token).friend_id == friend_id


def test_render_without_tracking_and_without_name(app):
    friend_id = make_friend(app, display_name=None)
    out = _render(
        app, friend_id, [{"type": "text", "text": "{name}さん https://shop.example.jp/a {name}"}], track_links=False
    )
    assert out[0]["text"] == "お客様 https://shop.example.jp/a お客様"


def test_render_never_expands_placeholders_inside_values(app):
    friend_id = make_friend(app, display_name="{field:plan}")
    set_field_value(app, friend_id=friend_id, field_id=make_field(app, "plan"), value="{name}")
    out = _render(app, friend_id, [{"type": "text", "text": "{name}|{field:plan}"}], track_links=False)
    assert out[0]["text"] == "{field:plan}|{name}"


def test_render_keeps_within_line_text_limit(app):
    friend_id = make_friend(app, display_name="長" * 200)
    out = _render(app, friend_id, [{"type": "text", "text": "{name}" + "あ" * 4990}], track_links=False)
    assert content.utf16_length(out[0]["text"]) == content.TEXT_MAX_UTF16


def test_load_fields_for_many_friends(app):
    field_id = make_field(app, "plan")
    ids = [make_friend(app, n=n) for n in range(1, 4)]
    set_field_value(app, friend_id=ids[0], field_id=field_id, value="gold")
    set_field_value(app, friend_id=ids[2], field_id=field_id, value="silver")
    with session_scope(get_engine(app)) as session:
        assert content.load_fields(session, ids, {"plan"}) == {ids[0]: {"plan": "gold"}, ids[2]: {"plan": "silver"}}
