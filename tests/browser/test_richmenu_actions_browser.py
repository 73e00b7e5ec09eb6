"""An area that runs actions, built in a real browser at desktop and phone width: choose 「アクションを実行」, pick
the actions in the shared editor under the area, save, publish; a tap in the LINE simulator runs them."""

import pytest
from playwright.sync_api import expect

from tests.browser.pages import sign_in
from tests.factories import friend_id_of, make_staff, make_tag
from tests.postback_actions.helpers import attention_of
from tests.richmenus.helpers import FULL, image_bytes
from tests.surveys.helpers import tag_names


@pytest.mark.parametrize("width", [1366, 390])
def test_an_area_runs_the_actions_chosen_in_the_editor(app, sim, console_url, page, width):
    page.set_viewport_size({"width": width, "height": 900})
    make_tag(app, "クーポン")
    sign_in(page, console_url, make_staff(app, "editor"))
    page.goto(f"{console_url}/richmenus")
    page.fill("input[name=name]", "メイン")
    page.fill("input[name=chat_bar_text]", "メニュー")
    page.select_option("select[name=layout]", "cols2")
    page.click("form[action$='/richmenus/new'] button[type=submit]")

    page.select_option("select[name='areas-0-kind']", "actions")
    area = page.locator("tr[data-area-actions='1']")
    area.locator("summary").click()
    area.locator("input[name='areas-0-display_text']").fill("クーポンをもらう")
    area.locator("select[name='areas-0-actions-0-type']").select_option("add_tag")
    area.locator("select[name='areas-0-actions-0-add_tag-tag_id']").select_option(label="クーポン")
    area.locator(".action-add").click()
    area.locator("select[name='areas-0-actions-1-type']").select_option("mark_attention")
    area.locator("select[name='areas-0-actions-1-mark_attention-state']").select_option("needed")
    page.select_option("select[name='areas-1-kind']", "message")
    page.fill("input[name='areas-1-value']", "こんにちは")
    page.click("#builder form button.primary")
    expect(page.locator(".rm-preview .rm-area")).to_have_count(2)
    expect(page.locator("tr[data-area-actions='1'] details")).to_have_attribute("open", "")

    page.set_input_files(
        "input[name=image]", files=[{"name": "menu.png", "mimeType": "image/png", "buffer": image_bytes(FULL)}]
    )
    page.click("form[enctype='multipart/form-data'] button[type=submit]")
    page.check("input[name=make_default]")
    page.click("form[action$='/publish'] button[type=submit]")
    expect(page.locator("form[action$='/unpublish']")).to_be_visible()

    user = sim.create_user("花子")
    sim.follow(user)
    tapped = sim.tap_rich_menu(user, 0)
    assert tapped["status"] == 200 and tapped["event"]["postback"]["data"].startswith("pa:")
    friend = friend_id_of(app, user)
    assert tag_names(app, friend) == {"クーポン"} and attention_of(app, friend) == "needed"
    page.reload()
    expect(page.locator("table.rm-action-taps tr[data-area='1'] td").nth(4)).to_have_text("1")
