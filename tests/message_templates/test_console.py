"""Template pages: list by folder with search, the editor per message type (uploads kept, errors shown), the
preview, copy and archive; permissions, CSRF and the audit log."""

import json
import re

import pytest
from sqlmodel import select

from crm.db import get_engine, session_scope
from crm.message_templates.models import MessageTemplate, UploadedImage
from crm.staff.models import AuditEntry
from tests.console_helpers import csrf_token, signed_in_client
from tests.factories import make_template
from tests.message_templates.helpers import image_bytes

BUTTONS = {
    "type": "template",
    "altText": "ご予約",
    "template": {
        "type": "buttons",
        "title": "ご予約",
        "text": "{name}さん、ご予約はこちら",
        "actions": [{"type": "uri", "label": "予約する", "uri": "https://shop.example.jp/r"}],
    },
}


def _stored(app, template_id):
    with session_scope(get_engine(app)) as session:
        template = session.get(MessageTemplate, template_id)
        return template.name, template.folder, json.loads(template.messages), template.archived


def _editor_fields(html: str) -> dict:
    """The editor's inputs as the page renders them (text inputs, hidden inputs, textareas, selected options)."""
    fields = {}
    for name, value in re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', html):
        fields[name] = value
    for name, value in re.findall(r'<textarea[^>]*name="([^"]+)"[^>]*>\s*([^<]*)</textarea>', html):
        fields[name] = value
    for name, body in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', html, re.S):
        selected = re.search(r'<option[^>]*selected[^>]*value="([^"]*)"|<option value="([^"]*)" selected', body)
        if selected:
            fields[name] = selected.group(1) or selected.group(2)
    fields.pop("csrf_token", None)
    return fields


def _post(client, path, data, **kwargs):
    return client.post(path, data={"csrf_token": csrf_token(client, "/templates/new"), **data}, **kwargs)


def test_create_a_text_template_and_see_it_listed(app):
    client = signed_in_client(app, "editor")
    response = _post(
        client,
        "/templates/new",
        {"name": "ご挨拶", "folder": "あいさつ", "messages-0-kind": "text", "messages-0-text": "{name}さん、ようこそ"},
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    template_id = int(response.headers["Location"].rsplit("/", 1)[1])
    welcome = [{"type": "text", "text": "{name}さん、ようこそ"}]
    assert _stored(app, template_id) == ("ご挨拶", "あいさつ", welcome, False)
    page = client.get("/templates").get_data(as_text=True)
    assert "ご挨拶" in page and "あいさつ" in page
    with session_scope(get_engine(app)) as session:
        entry = session.exec(select(AuditEntry).where(AuditEntry.action == "template.create")).one()
        assert entry.target_id == str(template_id)


def test_list_by_folder_and_search(app):
    make_template(app, name="春セール", folder="セール", messages=[{"type": "text", "text": "桜の季節"}])
    make_template(app, name="夏セール", folder="セール")
    make_template(app, name="ご挨拶")
    client = signed_in_client(app, "marketer")
    names = lambda html: re.findall(r'<a href="/templates/\d+">([^<]+)</a>', html)  # noqa: E731
    greeting = "友だち追加のあいさつ"  # every new account has it
    assert names(client.get("/templates").get_data(as_text=True)) == ["ご挨拶", greeting, "夏セール", "春セール"]
    assert names(client.get("/templates?folder=セール").get_data(as_text=True)) == ["夏セール", "春セール"]
    assert names(client.get("/templates?q=桜").get_data(as_text=True)) == ["春セール"]
    assert names(client.get("/templates?q=100%25").get_data(as_text=True)) == []


def test_buttons_message_with_uploaded_image_and_preview(app):
    client = signed_in_client(app, "editor")
    data = {
        "name": "ご予約案内",
        "messages-0-kind": "buttons",
        "messages-0-alt_text": "",
        "messages-0-cards-0-title": "ご予約",
        "messages-0-cards-0-text": "{name}さん、ご予約はこちら",
        "messages-0-cards-0-image": (_file(image_bytes((1040, 688))), "shop.jpg"),
        "messages-0-cards-0-actions-0-kind": "uri",
        "messages-0-cards-0-actions-0-label": "予約する",
        "messages-0-cards-0-actions-0-value": "https://shop.example.jp/r",
    }
    response = _post(client, "/templates/new", data, content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)
    template_id = int(response.headers["Location"].rsplit("/", 1)[1])
    _, _, messages, _ = _stored(app, template_id)
    template = messages[0]["template"]
    assert messages[0]["altText"] == "ご予約"  # empty: the title
    assert re.fullmatch(r"/media/[0-9a-f]{64}\.jpg", template["thumbnailImageUrl"])
    assert client.get(template["thumbnailImageUrl"]).status_code == 200
    page = client.get(f"/templates/{template_id}").get_data(as_text=True)
    assert "山田 花子さん、ご予約はこちら" in page  # the preview, for a sample friend
    assert 'class="line-button"' in page and "予約する" in page


def test_a_bogus_upload_shows_an_error_and_keeps_everything_typed(app):
    client = signed_in_client(app, "editor")
    data = {
        "name": "画像つき",
        "messages-0-kind": "image",
        "messages-0-image": (_file(b"GIF89a" + b"\0" * 50), "fake.jpg"),
        "messages-1-kind": "text",
        "messages-1-text": "大事な文章",
    }
    response = _post(client, "/templates/new", data, content_type="multipart/form-data")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "JPEG" in page and "大事な文章" in page and 'value="画像つき"' in page
    with session_scope(get_engine(app)) as session:
        assert session.exec(select(MessageTemplate).where(MessageTemplate.name != "友だち追加のあいさつ")).all() == []
        assert session.exec(select(UploadedImage)).all() == []


def test_limit_errors_name_the_message_and_part_in_japanese(app):
    client = signed_in_client(app, "editor")
    data = {
        "name": "確認",
        "messages-0-kind": "text",
        "messages-0-text": "こんにちは",
        "messages-1-kind": "buttons",
        "messages-1-cards-0-text": "本文",
        "messages-1-cards-0-actions-0-kind": "message",
        "messages-1-cards-0-actions-0-label": "あ" * 21,
        "messages-1-cards-0-actions-0-value": "はい",
    }
    page = _post(client, "/templates/new", data).get_data(as_text=True)
    assert "2通目・ボタン1のラベル：必須で、20文字以内にしてください。" in page


def test_commands_add_cards_and_buttons_without_losing_input(app):
    client = signed_in_client(app, "editor")
    base = {"name": "新作", "messages-0-kind": "carousel", "messages-0-cards-0-text": "一枚目"}
    page = _post(client, "/templates/new", {**base, "command": "add_card:0"}).get_data(as_text=True)
    fields = _editor_fields(page)
    assert fields["messages-0-cards-0-text"] == "一枚目" and "messages-0-cards-1-text" in fields
    page = _post(client, "/templates/new", {**fields, "name": "新作", "command": "add_action:0-1"}).get_data(
        as_text=True
    )
    assert "messages-0-cards-1-actions-1-label" in page
    page = _post(client, "/templates/new", {**base, "command": "add_message"}).get_data(as_text=True)
    assert 'name="messages-1-kind"' in page


def test_edit_round_trips_every_kind(app):
    messages = [
        BUTTONS,
        {"type": "sticker", "packageId": "446", "stickerId": "1988"},
        {
            "type": "template",
            "altText": "確認",
            "template": {
                "type": "confirm",
                "text": "参加しますか？",
                "actions": [
                    {"type": "postback", "label": "はい", "data": "join=1", "displayText": "参加します"},
                    {"type": "datetimepicker", "label": "日時", "data": "when", "mode": "date"},
                ],
            },
        },
        {
            "type": "template",
            "altText": "新作",
            "template": {
                "type": "carousel",
                "columns": [
                    {"text": "A", "actions": [{"type": "message", "label": "A", "text": "A"}]},
                    {"text": "B", "actions": [{"type": "message", "label": "B", "text": "B"}]},
                ],
            },
        },
        {"type": "text", "text": "またね"},
    ]
    template_id = make_template(app, messages, name="全部")
    client = signed_in_client(app, "editor")
    fields = _editor_fields(client.get(f"/templates/{template_id}").get_data(as_text=True))
    response = _post(client, f"/templates/{template_id}", {**fields, "name": "全部（改）"})
    assert response.status_code == 302, response.get_data(as_text=True)
    assert _stored(app, template_id)[2] == messages


def test_copy_and_archive(app):
    template_id = make_template(app, [BUTTONS], name="ご予約", folder="予約")
    client = signed_in_client(app, "marketer")
    response = _post(client, f"/templates/{template_id}/copy", {})
    copy_id = int(response.headers["Location"].rsplit("/", 1)[1])
    assert _stored(app, copy_id) == ("ご予約 のコピー", "予約", [BUTTONS], False)
    _post(client, f"/templates/{template_id}/archive", {"archived": "1"})
    assert _stored(app, template_id)[3] is True
    assert "ご予約 のコピー" in client.get("/templates").get_data(as_text=True)
    assert f'data-template="{template_id}"' not in client.get("/templates").get_data(as_text=True)
    assert f'data-template="{template_id}"' in client.get("/templates?archived=1").get_data(as_text=True)
    with session_scope(get_engine(app)) as session:
        actions = session.exec(select(AuditEntry.action).where(AuditEntry.target_type == "template")).all()
    assert sorted(actions) == ["template.archive", "template.copy"]


@pytest.mark.parametrize(
    "role, list_status, edit_status", [("analyst", 403, 403), ("staff", 403, 403), ("marketer", 200, 200)]
)
def test_permissions(app, role, list_status, edit_status):
    template_id = make_template(app)
    client = signed_in_client(app, role)
    assert client.get("/templates").status_code == list_status
    assert client.get(f"/templates/{template_id}/preview").status_code == list_status
    assert client.get(f"/templates/{template_id}").status_code == edit_status


def test_posts_need_a_csrf_token(app):
    template_id = make_template(app)
    client = signed_in_client(app, "admin")
    assert client.post(f"/templates/{template_id}/copy").status_code == 400
    assert client.post("/templates/new", data={"name": "x", "messages-0-kind": "text"}).status_code == 400


def _file(data: bytes):
    import io

    return io.BytesIO(data)
