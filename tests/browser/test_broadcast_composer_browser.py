"""The composer in a real browser, at desktop and phone width: a quick audience of tags with its live count,
and a sticker picked from the pictures, saved as a draft without typing any id; no sideways scrolling."""

import json

import pytest
from playwright.sync_api import expect
from sqlmodel import select

from crm.broadcasts.models import Broadcast
from crm.tags.models import FriendTag
from tests.broadcasts.helpers import add_friends, db
from tests.browser.pages import sign_in
from tests.factories import make_staff, make_tags


def _no_sideways_scrolling(page):
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 1


@pytest.mark.parametrize("width", [1366, 390])
def test_a_quick_audience_and_a_picked_sticker(app, console_url, page, width):
    page.set_viewport_size({"width": width, "height": 900})
    vip, regular = make_tags(app, "VIP", "常連")
    with db(app) as session:
        friends = add_friends(session, 4)
        session.add_all(FriendTag(friend_id=friend, tag_id=vip, added_by="test") for friend in friends[:3])
        session.add(FriendTag(friend_id=friends[0], tag_id=regular, added_by="test"))
    sign_in(page, console_url, make_staff(app, "marketer"))
    page.goto(f"{console_url}/broadcasts/new")
    page.wait_for_load_state()
    count = page.locator("#recipient-count")
    expect(count).to_have_attribute("data-count", "4")
    quick = page.locator("#quick-audience")
    expect(quick).to_be_hidden()
    page.select_option("#segment", "quick")
    expect(quick).to_be_visible()
    quick.get_by_label("VIP").check()
    expect(count).to_have_attribute("data-count", "3")  # any of the tags (the default)
    quick.get_by_label("常連").check()
    quick.get_by_label("選んだタグがすべて付いている友だち").check()
    expect(count).to_have_attribute("data-count", "1")
    page.fill("input[name=name]", "常連さんへのお礼")
    page.select_option("select[name=messages-0-kind]", "text")
    page.fill("textarea[name=messages-0-text]", "いつもありがとうございます")
    picker = page.locator(".message-slot").nth(1).locator(".sticker-picker")
    expect(picker).to_be_hidden()
    page.select_option("select[name=messages-1-kind]", "sticker")
    expect(picker).to_be_visible()
    picker.locator("label.sticker-option[title='789/10856']").click()
    expect(picker.locator("input[value='789:10856']")).to_be_checked()
    _no_sideways_scrolling(page)
    page.get_by_role("button", name="下書きを保存").last.click()
    expect(page.locator("#quick-audience")).to_contain_text("VIP、常連")
    _no_sideways_scrolling(page)
    with db(app) as session:
        broadcast = session.exec(select(Broadcast)).one()
        assert json.loads(broadcast.messages)[1] == {"type": "sticker", "packageId": "789", "stickerId": "10856"}
        assert json.loads(broadcast.segment_tree)["type"] == "all"
