"""A friend's images in a browser at desktop and phone width: the one LINE still keeps shows as a small thumbnail
in the chat inbox and on the friend page (within the Content-Security-Policy), the one LINE dropped as its label
with a note."""

import pytest
from playwright.sync_api import expect

from tests.browser.pages import no_sideways_scroll, sign_in
from tests.factories import friend_id_of, make_staff

THUMBNAIL_MAX_PX = 240


@pytest.mark.parametrize("width", [1366, 390])
def test_a_friends_image_shows_as_a_thumbnail_and_an_expired_one_as_a_note(app, sim, console_url, page, width):
    page.set_viewport_size({"width": width, "height": 844})
    refused = []
    page.on("console", lambda message: refused.append(message.text) if "Content Security" in message.text else None)
    user = sim.create_user("佐藤 花子")
    sim.follow(user)
    sim.send_image(user)  # the simulator's sample photo, 320 x 240
    expired = sim.send_image(user)["event"]["message"]["id"]
    sim.expire_content(expired)
    friend_id = friend_id_of(app, user)
    sign_in(page, console_url, make_staff(app, "staff"))

    page.goto(f"{console_url}/chat/{friend_id}")
    boxes = page.locator("[data-talk-items] [data-line-image]")
    expect(boxes).to_have_count(2)
    thumbnail = boxes.nth(0).get_by_role("img", name="友だちが送った画像")
    expect(thumbnail).to_have_js_property("naturalWidth", 320)
    size = thumbnail.bounding_box()
    assert 0 < size["width"] <= THUMBNAIL_MAX_PX and 0 < size["height"] <= THUMBNAIL_MAX_PX
    expect(boxes.nth(1).locator("[data-image-note]")).to_have_text(
        "画像の保存期間が過ぎました（LINEに残っていません）。"
    )
    expect(boxes.nth(1).get_by_role("img")).to_be_hidden()
    expect(boxes.nth(1)).to_contain_text("画像")
    no_sideways_scroll(page, width, "the conversation with images")

    page.goto(f"{console_url}/friends/{friend_id}")
    expect(page.locator("#chat [data-line-image] img").first).to_have_js_property("naturalWidth", 320)
    expect(page.locator("#chat [data-image-note]").nth(1)).to_have_text(
        "画像の保存期間が過ぎました（LINEに残っていません）。"
    )
    no_sideways_scroll(page, width, "the friend page with images")
    assert refused == []
