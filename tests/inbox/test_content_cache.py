"""Images and video previews kept on the server once read from LINE (the real simulator over HTTP): a second look
asks LINE nothing, the browser revalidates by ETag, the cache stays under its cap (oldest first) and an erased
friend's content goes."""

from sqlmodel import select

from crm.db import get_engine, session_scope
from crm.friends.models import Message
from crm.inbox.content_cache import ContentCache, content_cache
from crm.inbox.images import Image
from crm.privacy import service as privacy
from crm.staff.audit import Actor
from tests.console_helpers import signed_in_client
from tests.factories import friend_id_of
from tests.simulator.images import jpeg

PHOTO = jpeg(640, 480)


def _sent(sim, app, user: str, kind: str = "image") -> tuple[int, int, str]:
    """A friend sends an image (or a video) through LINE: (friend id, message row id, LINE message id)."""
    sim.follow(user)
    if kind == "image":
        line_message_id = sim.send_image(user, PHOTO, "image/jpeg")["event"]["message"]["id"]
    else:
        line_message_id = sim.send_media(user, kind, duration=42000)["event"]["message"]["id"]
    with session_scope(get_engine(app)) as session:
        message_id = session.exec(select(Message.id).where(Message.line_message_id == line_message_id)).one()
    return friend_id_of(app, user), message_id, line_message_id


def test_a_second_view_is_served_from_the_cache_without_asking_line(app, sim, crm_server):
    _, message_id, _ = _sent(sim, app, sim.create_user("Hanako"))
    client = signed_in_client(app, "staff")

    first = client.get(f"/chat/messages/{message_id}/image")
    second = client.get(f"/chat/messages/{message_id}/image")

    assert first.data == second.data == PHOTO and second.mimetype == "image/jpeg"
    assert second.headers["Cache-Control"] == "private, max-age=86400"
    assert len(sim.requests_log(path="/content")) == 1  # only the first view read LINE


def test_the_browser_revalidates_by_etag_and_gets_304_without_a_line_call(app, sim, crm_server):
    _, message_id, _ = _sent(sim, app, sim.create_user("Hanako"))
    client = signed_in_client(app, "staff")
    etag = client.get(f"/chat/messages/{message_id}/image").headers["ETag"]

    again = client.get(f"/chat/messages/{message_id}/image", headers={"If-None-Match": etag})

    assert again.status_code == 304 and again.data == b""
    assert again.headers["Cache-Control"].startswith("private")
    assert len(sim.requests_log(path="/content")) == 1


def test_a_video_preview_is_cached_apart_from_its_content(app, sim, crm_server):
    _, message_id, line_id = _sent(sim, app, sim.create_user("Hanako"), kind="video")
    client = signed_in_client(app, "staff")

    for _ in range(2):
        preview = client.get(f"/chat/messages/{message_id}/preview")
        assert preview.status_code == 200 and preview.mimetype == "image/png"

    assert [call["path"] for call in sim.requests_log(path="/content")] == [
        f"/v2/bot/message/{line_id}/content/preview"
    ]


def test_the_cache_stays_under_its_cap_dropping_the_oldest_first(tmp_path):
    cache = ContentCache(tmp_path / "cache", max_bytes=1_000_000)
    try:
        for number in range(40):  # 1.6 MB stored through a 1 MB cache
            cache.put("image", str(number), Image(bytes(40_000), "image/jpeg"), friend_id=1)

        kept = [number for number in range(40) if cache.get("image", str(number))]
        assert kept and kept == list(range(kept[0], 40))  # the newest stayed, the oldest went
        assert len(kept) * 40_000 <= 1_000_000
        assert cache.get("image", "39") == Image(bytes(40_000), "image/jpeg")
    finally:
        cache.close()


def test_erasing_a_friend_removes_their_cached_images(app, sim, crm_server):
    hanako_id, hanako_message, hanako_line_id = _sent(sim, app, sim.create_user("Hanako"))
    _, taro_message, taro_line_id = _sent(sim, app, sim.create_user("Taro"))
    client = signed_in_client(app, "staff")
    for message_id in (hanako_message, taro_message):
        assert client.get(f"/chat/messages/{message_id}/image").status_code == 200
    cache = content_cache(app)
    assert cache.get("image", hanako_line_id) is not None

    with app.app_context(), session_scope(get_engine(app)) as session:
        counts = privacy.erase_friend(session, friend_id=hanako_id, actor=Actor.system("test"))

    assert counts["cached_content"] == 1
    assert cache.get("image", hanako_line_id) is None
    assert cache.get("image", taro_line_id) is not None
    assert client.get(f"/chat/messages/{hanako_message}/image").status_code == 404
