"""A friend's video, voice message and file in a browser at desktop and phone width: the video shows its preview
image (read through the CRM from LINE) with its length and a play link, the voice message a player, the file its
name and size as a download link that saves it under its name."""

import pytest
from playwright.sync_api import expect

from tests.browser.pages import no_sideways_scroll, sign_in
from tests.factories import friend_id_of, make_staff


@pytest.mark.parametrize("width", [1366, 390])
def test_a_video_shows_its_preview_and_a_file_downloads(app, sim, console_url, page, width):
    page.set_viewport_size({"width": width, "height": 844})
    user = sim.create_user("佐藤 花子")
    sim.follow(user)
    sim.send_media(user, "video", duration=42_000)  # the simulator's preview: its sample photo, 320 x 240
    sim.send_media(user, "audio", duration=8_000)
    sim.send_media(user, "file", "見積もりです".encode() * 100, "application/pdf", fileName="見積書 2026年12月.pdf")
    friend_id = friend_id_of(app, user)
    sign_in(page, console_url, make_staff(app, "staff"))

    page.goto(f"{console_url}/chat/{friend_id}")
    items = page.locator("[data-talk-items]")
    preview = items.get_by_role("img", name="友だちが送った動画のプレビュー")
    expect(preview).to_have_js_property("naturalWidth", 320)
    expect(items.locator(".talk-media-meta").first).to_have_text("動画 · 0:42 · 再生")
    expect(items.locator("audio.talk-audio")).to_have_count(1)
    link = items.get_by_role("link", name="見積書 2026年12月.pdf")
    expect(link).to_be_visible()
    expect(items.locator(".talk-file")).to_contain_text("(1.8 KB)")
    no_sideways_scroll(page, width, "the conversation with a video and a file")

    with page.expect_download() as download:
        link.click()
    assert download.value.suggested_filename == "見積書 2026年12月.pdf"
