"""A staff member's day in a real browser: sign in, find a friend, tag them, write a note, reply in the chat
(the reply arrives in the LINE simulator), and switch the console to English."""

from playwright.sync_api import expect

from crm.db import get_engine, session_scope
from crm.friends.jobs import fetch_due_profiles
from crm.line.runtime import line_client
from crm.tags.models import Tag
from tests.factories import PASSWORD, make_staff


def test_find_tag_note_and_reply_to_a_friend(app, sim, console_url, page):
    user = sim.create_user("佐藤 花子")
    sim.follow(user)
    other = sim.create_user("鈴木 一郎")
    sim.follow(other)
    fetch_due_profiles(get_engine(app), line_client(app))
    with session_scope(get_engine(app)) as session:
        session.add(Tag(name="VIP"))
    email = make_staff(app, "staff")

    page.goto(f"{console_url}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("form button[type=submit]")
    expect(page.locator("html")).to_have_attribute("lang", "ja")

    page.goto(f"{console_url}/friends")
    page.click("details.friend-filters summary")
    page.fill("input[name=q]", "花子")
    page.click("#friend-filters button[type=submit]")
    expect(page.locator("td.name")).to_have_count(1)
    page.get_by_role("link", name="佐藤 花子").click()
    expect(page.get_by_role("heading", name="佐藤 花子")).to_be_visible()

    page.select_option("form[action$='/tags'] select[name=tag_id]", label="VIP")
    page.click("form[action$='/tags'] button[type=submit]")
    expect(page.locator(".tag", has_text="VIP")).to_be_visible()

    page.fill("form[action$='/notes'] textarea[name=body]", "来店時にクーポン利用")
    page.click("form[action$='/notes'] button[type=submit]")
    expect(page.locator("p.note-body", has_text="来店時にクーポン利用")).to_be_visible()

    page.fill("form[action$='/reply'] textarea[name=text]", "ご来店ありがとうございました！")
    page.click("form[action$='/reply'] button[type=submit]")
    expect(page.get_by_text("ご来店ありがとうございました！")).to_be_visible()
    delivered = [m["text"] for entry in sim.inbox(user) for m in entry["messages"]]
    assert delivered == ["ご来店ありがとうございました！"]
    assert sim.inbox(other) == []

    page.select_option("select[name=locale]", "en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    expect(page.get_by_text("ご来店ありがとうございました！")).to_be_visible()
