"""Videos, voice messages and files a friend sent, read from LINE (the real simulator over HTTP): the talk view
shows a video's preview and length, a voice player, a file's name and size; the content route plays or downloads
them under chat.view, a file only as a download under a safe name."""

import pytest
from sqlmodel import select

from crm.db import get_engine, session_scope
from crm.friends.models import Message
from crm.inbox.images import safe_file_name
from crm.timeutil import utcnow
from tests.console_helpers import signed_in_client
from tests.factories import friend_id_of
from tests.inbox.helpers import add_message

VIDEO = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 40


def _sent(sim, app, kind: str, data: bytes | None = None, content_type: str | None = None, **fields):
    """A friend sends a video, voice message or file: (friend id, message row id, LINE message id)."""
    user = sim.create_user("Hanako")
    sim.follow(user)
    line_message_id = sim.send_media(user, kind, data, content_type, **fields)["event"]["message"]["id"]
    with session_scope(get_engine(app)) as session:
        message_id = session.exec(select(Message.id).where(Message.line_message_id == line_message_id)).one()
    return friend_id_of(app, user), message_id, line_message_id


def _content_calls(sim) -> list[str]:
    return [call["path"] for call in sim.requests_log(path="/content")]


def test_a_video_shows_its_preview_and_length_and_plays_through_the_crm(app, sim, crm_server):
    friend_id, message_id, line_id = _sent(sim, app, "video", VIDEO, "video/mp4", duration=63_400)
    client = signed_in_client(app, "staff")

    page = client.get(f"/chat/{friend_id}").get_data(as_text=True)
    played = client.get(f"/chat/messages/{message_id}/content")
    ranged = client.get(f"/chat/messages/{message_id}/content", headers={"Range": "bytes=0-9"})

    assert f'src="/chat/messages/{message_id}/preview"' in page
    assert f'href="/chat/messages/{message_id}/content"' in page and "1:03" in page
    assert played.status_code == 200 and played.data == VIDEO and played.mimetype == "video/mp4"
    assert played.headers["Cache-Control"] == "private, max-age=86400"
    assert ranged.status_code == 206 and ranged.data == VIDEO[:10]  # seeking in the player
    assert _content_calls(sim) == [f"/v2/bot/message/{line_id}/content"] * 2  # videos are not kept


def test_a_voice_message_plays_in_an_audio_player(app, sim, crm_server):
    friend_id, message_id, _ = _sent(sim, app, "audio", duration=8_000)
    client = signed_in_client(app, "staff")

    page = client.get(f"/chat/{friend_id}").get_data(as_text=True)
    played = client.get(f"/chat/messages/{message_id}/content")

    assert f'<audio class="talk-audio" controls preload="none" src="/chat/messages/{message_id}/content">' in page
    assert "0:08" in page
    assert played.status_code == 200 and played.mimetype == "audio/x-m4a"


def test_a_file_shows_its_name_and_size_and_downloads_under_its_name(app, sim, crm_server):
    data = "請求書の中身".encode() * 300
    friend_id, message_id, _ = _sent(sim, app, "file", data, "application/pdf", fileName="請求書 12月.pdf")
    client = signed_in_client(app, "staff")

    page = client.get(f"/chat/{friend_id}").get_data(as_text=True)
    friend_page = client.get(f"/friends/{friend_id}").get_data(as_text=True)
    download = client.get(f"/chat/messages/{message_id}/content")

    link = f'<a href="/chat/messages/{message_id}/content" download>請求書 12月.pdf</a>'
    assert link in page and link in friend_page and "(5.4 KB)" in page
    assert download.status_code == 200 and download.data == data
    assert download.mimetype == "application/octet-stream"  # never shown by the browser
    disposition = download.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=UTF-8''%E8%AB%8B%E6%B1%82%E6%9B%B8%2012%E6%9C%88.pdf" in disposition


def test_a_file_name_cannot_inject_headers(app, sim, crm_server):
    name = 'evil"\r\nSet-Cookie: session=stolen\r\n.html'
    _, message_id, _ = _sent(sim, app, "file", b"hello", "text/html", fileName=name)

    download = signed_in_client(app, "staff").get(f"/chat/messages/{message_id}/content")

    assert download.status_code == 200 and "Set-Cookie" not in download.headers
    assert "\r" not in download.headers["Content-Disposition"] and "\n" not in download.headers["Content-Disposition"]
    assert download.mimetype == "application/octet-stream"


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("見積書.pdf", "見積書.pdf"),
        ("../../etc/passwd", "etc_passwd"),
        ('a"b\\c\r\nd', "a_b_c_d"),
        ("\x00\x1f", "file-1"),
        (None, "file-1"),
        ("x" * 300, "x" * 200),
    ],
)
def test_safe_file_names(name, safe):
    assert safe_file_name(name, fallback="file-1") == safe


def test_sign_in_and_chat_view_are_required(app, sim, crm_server):
    friend_id, message_id, _ = _sent(sim, app, "video")

    anonymous = app.test_client().get(f"/chat/messages/{message_id}/content")
    analyst = signed_in_client(app, "analyst")

    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    assert analyst.get(f"/chat/messages/{message_id}/content").status_code == 403
    assert analyst.get(f"/chat/messages/{message_id}/preview").status_code == 403
    assert _content_calls(sim) == []


def test_content_line_no_longer_keeps_is_404_and_other_messages_are_404_without_asking_line(app, sim, crm_server):
    friend_id, message_id, line_id = _sent(sim, app, "video")
    text_id = add_message(app, friend_id, "hello", at=utcnow(), line_message_id="123")
    client = signed_in_client(app, "staff")
    assert client.get(f"/chat/messages/{text_id}/content").status_code == 404
    assert client.get(f"/chat/messages/{text_id}/preview").status_code == 404
    assert _content_calls(sim) == []

    sim.expire_content(line_id)

    assert client.get(f"/chat/messages/{message_id}/content").status_code == 404
    assert client.get(f"/chat/messages/{message_id}/preview").status_code == 404
