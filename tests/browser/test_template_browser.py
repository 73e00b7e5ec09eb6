"""An editor builds a template in a real browser (desktop and 390 px wide): an uploaded image message and a
buttons message, sees the preview drawn as LINE draws it; the template sent to a simulated friend shows in the
simulator's chat with its buttons."""

import pytest
from playwright.sync_api import expect

from crm.actions.registry import ActionContext, kind_of
from crm.db import get_engine, session_scope
from crm.friends.models import Friend
from tests.browser.pages import sign_in
from tests.factories import friend_id_of, make_staff
from tests.message_templates.helpers import image_bytes
from tests.surveys.helpers import replies_settled


def _build_template(page, console_url) -> int:
    page.goto(f"{console_url}/templates/new")
    page.fill("input[name=name]", "ご予約のご案内")
    page.select_option("select[name='messages-0-kind']", "image")  # redraws the message's fields
    page.set_input_files(
        "input[name='messages-0-image']",
        files=[{"name": "shop.jpg", "mimeType": "image/jpeg", "buffer": image_bytes((1040, 1040))}],
    )
    page.click("button[value=add_message]")
    expect(page.locator("img.upload-thumb")).to_be_visible()  # the upload was kept across the redraw
    page.wait_for_load_state()  # the kind select redraws through the editor's script, attached once loaded
    page.select_option("select[name='messages-1-kind']", "buttons")
    page.fill("input[name='messages-1-cards-0-title']", "ご予約")
    page.fill("textarea[name='messages-1-cards-0-text']", "")
    page.click("button[data-insert='{name}'][data-target='messages-1-cards-0-text']")
    page.type("textarea[name='messages-1-cards-0-text']", "さん、ご予約はこちら")
    page.fill("input[name='messages-1-cards-0-actions-0-label']", "予約する")
    page.fill("input[name='messages-1-cards-0-actions-0-value']", "https://shop.example.jp/r")
    page.click("button[value=save]")
    expect(page.locator(".flash, [role=status], .success").first).to_be_visible()
    preview = page.locator("#line-preview")
    expect(preview.locator("img.line-image")).to_be_visible()
    expect(preview.locator(".line-title")).to_have_text("ご予約")
    expect(preview.locator(".line-text")).to_have_text("山田 花子さん、ご予約はこちら")
    expect(preview.locator(".line-button")).to_have_text("予約する")
    return int(page.url.rstrip("/").rsplit("/", 1)[1])


@pytest.mark.parametrize("width", [1280, 390])
def test_build_a_template_with_an_image_and_buttons_and_see_it_in_line(app, sim, console_url, browser, width):
    email = make_staff(app, "editor")
    context = browser.new_context(viewport={"width": width, "height": 900}, locale="ja-JP", is_mobile=width < 500)
    page = context.new_page()
    sign_in(page, console_url, email)
    template_id = _build_template(page, console_url)
    overflow = page.evaluate("document.scrollingElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page is {overflow}px wider than the screen"

    user = sim.create_user("さくら")
    sim.follow(user)
    replies_settled()
    with session_scope(get_engine(app)) as session:
        session.get(Friend, friend_id_of(app, user)).display_name = "さくら"  # as a profile fetch would store
    with app.app_context(), session_scope(get_engine(app)) as session:
        context_ = ActionContext(
            session=session,
            friend_id=friend_id_of(app, user),
            params={"template_id": template_id},
            trigger_key=f"browser:{width}",
            source="test",
        )
        assert kind_of("send_template").run(context_)
    replies_settled()
    page.goto(f"{sim.base_url}/?user={user}")
    expect(page.locator(".template-buttons")).to_contain_text("さくらさん、ご予約はこちら")
    expect(page.locator(".template-buttons button.action")).to_contain_text("予約する")
    expect(page.locator("img.photo")).to_be_visible()
    context.close()
