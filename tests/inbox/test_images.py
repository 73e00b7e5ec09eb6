"""A friend's images, read from LINE (the real simulator over HTTP) for the talk view's thumbnails: who may see
them, what the browser may keep, and what shows once LINE no longer has them or fails."""

import pytest
from sqlmodel import select

from crm.db import get_engine, session_scope
from crm.friends.models import Message
from crm.inbox import images
from crm.line.runtime import line_client
from crm.timeutil import utcnow
from tests.console_helpers import signed_in_client
from tests.factories import friend_id_of
from tests.inbox.helpers import add_message
from tests.simulator.images import jpeg

PHOTO = jpeg(640, 480)


@pytest.fixture
def line(sim, crm_server):
    return sim


def _sent_image(line, app, data: bytes | None = PHOTO, user: str | None = None) -> tuple[int, int, str]:
    """A friend sends an image through LINE: (friend id, message row id, LINE message id)."""
    user = user or line.create_user("Hanako")
    line.follow(user)
    line_message_id = line.send_image(user, data, "image/jpeg")["event"]["message"]["id"]
    with session_scope(get_engine(app)) as session:
        message_id = session.exec(select(Message.id).where(Message.line_message_id == line_message_id)).one()
    return friend_id_of(app, user), message_id, line_message_id


def _content_calls(line) -> list[dict]:
    return line.requests_log(path="/content")


def test_the_image_is_served_from_line_for_the_browser_to_keep_privately(app, line):
    friend_id, message_id, _ = _sent_image(line, app)
    client = signed_in_client(app, "marketer")

    response = client.get(f"/chat/messages/{message_id}/image")

    assert response.status_code == 200
    assert response.data == PHOTO and response.mimetype == "image/jpeg"
    assert response.headers["Cache-Control"] == "private, max-age=86400"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert [call["status"] for call in _content_calls(line)] == [200]


def test_the_talk_view_and_the_friend_page_show_a_thumbnail(app, line):
    friend_id, message_id, _ = _sent_image(line, app)
    client = signed_in_client(app, "staff")
    image = f'<img src="/chat/messages/{message_id}/image" alt="友だちが送った画像" loading="lazy">'

    assert image in client.get(f"/chat/{friend_id}").get_data(as_text=True)
    assert image in client.get(f"/friends/{friend_id}").get_data(as_text=True)
    assert _content_calls(line) == []  # the pages themselves never call LINE


def test_sign_in_and_chat_view_are_required(app, line):
    friend_id, message_id, _ = _sent_image(line, app)

    analyst = signed_in_client(app, "analyst")
    anonymous = app.test_client().get(f"/chat/messages/{message_id}/image")

    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    assert analyst.get(f"/chat/messages/{message_id}/image").status_code == 403
    assert f"/chat/messages/{message_id}/image" not in analyst.get(f"/friends/{friend_id}").get_data(as_text=True)
    assert _content_calls(line) == []


def test_an_image_line_no_longer_keeps_is_404_and_may_be_remembered(app, line):
    friend_id, message_id, line_message_id = _sent_image(line, app)
    line.expire_content(line_message_id)

    response = signed_in_client(app, "staff").get(f"/chat/messages/{message_id}/image")

    assert response.status_code == 404
    assert response.headers["Cache-Control"] == "private, max-age=3600"
    assert [call["status"] for call in _content_calls(line)] == [404]


def test_a_line_failure_is_502_and_not_kept(app, line):
    friend_id, message_id, _ = _sent_image(line, app)
    line.set_fault(endpoint="message_content", status=500)

    response = signed_in_client(app, "staff").get(f"/chat/messages/{message_id}/image")

    assert response.status_code == 502 and response.headers["Cache-Control"] == "no-store"
    assert [call["status"] for call in _content_calls(line)] == [500]


def test_other_messages_are_404_without_asking_line(app, line):
    user = line.create_user("Hanako")
    friend_id, message_id, line_message_id = _sent_image(line, app, user=user)
    client = signed_in_client(app, "staff")
    text_id = add_message(app, friend_id, "hello", at=utcnow(), line_message_id="123")
    sent_id = add_message(
        app, friend_id, None, at=utcnow(), incoming=False, message_type="image", line_message_id=line_message_id
    )
    line.unsend(user, line_message_id)

    for other in (text_id, sent_id, message_id, 999999):
        assert client.get(f"/chat/messages/{other}/image").status_code == 404
    assert _content_calls(line) == []


def test_too_big_an_image_is_refused(app, line):
    _, _, line_message_id = _sent_image(line, app)

    with app.app_context(), pytest.raises(images.ImageUnavailable, match=r"at most 10\)"):
        images.fetch_image(line_client(app), line_message_id, max_bytes=10)
