"""The chat inbox in a browser at desktop and phone width: a friend's message (sent in the LINE simulator)
appears in the open conversation without a reload, and the staff's reply reaches the simulator and updates the
message quota."""

import pytest
from playwright.sync_api import expect

from crm.db import get_engine
from crm.friends.jobs import fetch_due_profiles
from crm.line.runtime import line_client
from tests.browser.pages import no_sideways_scroll, sign_in
from tests.factories import friend_id_of, make_staff

POLL_WAIT_MS = 15_000  # the page polls every few seconds


@pytest.mark.parametrize("width", [1366, 390])
def test_a_message_appears_live_and_the_reply_reaches_the_friend(app, sim, console_url, page, width):
    page.set_viewport_size({"width": width, "height": 844})
    sim.set_quota(1000, total_usage=10)
    user = sim.create_user("佐藤 花子")
    sim.follow(user)
    sim.send_text(user, "予約できますか？")
    fetch_due_profiles(get_engine(app), line_client(app))
    friend_id = friend_id_of(app, user)
    sign_in(page, console_url, make_staff(app, "staff"))

    page.goto(f"{console_url}/chat")
    row = page.locator(f".conversation-row[data-friend='{friend_id}']")
    expect(row.locator(".unread-count")).to_have_text("1")
    no_sideways_scroll(page, width, "the conversation list")
    row.get_by_role("link").click()
    talk = page.locator("[data-talk-items]")
    expect(talk.get_by_text("予約できますか？")).to_be_visible()
    expect(page.locator("[data-quota-box]")).to_contain_text("1000通中10通を使用")
    if width < 700:
        expect(page.locator(".inbox-list")).to_be_hidden()  # on a phone, the conversation alone
        expect(page.get_by_role("link", name="← トーク一覧")).to_be_visible()
    else:
        expect(row.locator(".unread-count")).to_have_count(0)  # read by opening it
    no_sideways_scroll(page, width, "the conversation")
    page.evaluate("window.notReloaded = true")

    sim.send_text(user, "明日の15時に伺いたいです")
    sim.send_message(user, {"type": "sticker", "packageId": "446", "stickerId": "1988"})
    expect(talk.get_by_text("明日の15時に伺いたいです")).to_be_visible(timeout=POLL_WAIT_MS)
    expect(talk.locator("img.talk-sticker")).to_have_count(1, timeout=POLL_WAIT_MS)
    assert page.evaluate("window.notReloaded === true"), "the page reloaded"

    page.fill("[data-reply-form] textarea[name=text]", "はい、お待ちしております！")
    page.click("[data-reply-form] button[type=submit]")
    expect(page.locator("[data-reply-notice]")).to_have_text("メッセージを送信しました。")
    expect(talk.locator(".talk-account", has_text="はい、お待ちしております！")).to_be_visible(timeout=POLL_WAIT_MS)
    expect(page.locator("[data-quota-box]")).to_contain_text("1000通中11通を使用")
    expect(page.locator("[data-reply-form] textarea[name=text]")).to_have_value("")
    assert page.evaluate("window.notReloaded === true"), "the page reloaded"
    assert [m["text"] for entry in sim.inbox(user) for m in entry["messages"]] == ["はい、お待ちしております！"]
    no_sideways_scroll(page, width, "the conversation after the reply")
    for control in ("[data-reply-form] button[type=submit]", "[data-reply-form] textarea"):
        assert page.locator(control).bounding_box()["height"] >= 44, f"{control} is too small to tap"
