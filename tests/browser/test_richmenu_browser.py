"""An editor builds a rich menu in a real browser, uploads its image, sees the areas over it and publishes it
as the default; a new friend in the LINE simulator sees it and a tap starts the survey behind the button."""

from playwright.sync_api import expect

from tests.factories import PASSWORD, make_staff
from tests.richmenus.helpers import FULL, image_bytes
from tests.surveys.helpers import build_survey, last_message, single


def test_build_upload_and_publish_a_rich_menu(app, sim, console_url, page):
    build_survey(app, single("ご来店の目的は？", "買い物", "相談"), title="来店アンケート")
    email = make_staff(app, "editor")
    page.goto(f"{console_url}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("form button[type=submit]")

    page.goto(f"{console_url}/richmenus")
    page.fill("input[name=name]", "メイン")
    page.fill("input[name=chat_bar_text]", "メニュー")
    page.select_option("select[name=size]", "full")
    page.select_option("select[name=layout]", "cols2")
    page.click("form[action$='/richmenus/new'] button[type=submit]")
    expect(page.locator("#builder")).to_be_visible()

    page.wait_for_load_state("load")
    survey_picker, actions_row = page.locator("select[name='areas-0-survey']"), page.locator("[data-area-actions='1']")
    expect(survey_picker).to_be_hidden()  # an area with no action yet shows no survey picker and no action list
    expect(actions_row).to_be_hidden()
    page.select_option("select[name='areas-0-kind']", "actions")
    expect(actions_row).to_be_visible()
    expect(page.locator("select[name='areas-0-kind'] option:checked")).to_have_text("アクションを実行")
    page.select_option("select[name='areas-0-kind']", "postback")
    expect(actions_row).to_be_hidden()
    expect(page.locator("select[name='areas-0-kind'] option:checked")).to_have_text("アンケートを始める")
    page.select_option("select[name='areas-0-survey']", label="来店アンケート")
    page.select_option("select[name='areas-1-kind']", "uri")
    expect(page.locator("select[name='areas-1-survey']")).to_be_hidden()
    page.fill("input[name='areas-1-value']", "https://example.com/shop")
    page.click("#builder form button.primary")
    expect(page.locator(".rm-preview .rm-area")).to_have_count(2)

    page.set_input_files(
        "input[name=image]", files=[{"name": "menu.png", "mimeType": "image/png", "buffer": image_bytes(FULL)}]
    )
    page.click("form[enctype='multipart/form-data'] button[type=submit]")
    expect(page.locator(".rm-preview img")).to_be_visible()

    page.check("input[name=make_default]")
    page.click("form[action$='/publish'] button[type=submit]")
    expect(page.locator("form[action$='/unpublish']")).to_be_visible()

    user = sim.create_user("新しい友だち")
    sim.follow(user)
    seen = sim.rich_menu(user)
    assert seen["source"] == "default" and seen["hasImage"]
    assert [area["action"]["type"] for area in seen["richMenu"]["areas"]] == ["postback", "uri"]
    assert sim.tap_rich_menu(user, 0)["status"] == 200
    question = last_message(sim, user)  # the reply leaves after the webhook has answered
    assert "ご来店の目的は？" in question["text"]
    assert [item["action"]["label"] for item in question["quickReply"]["items"]][:2] == ["買い物", "相談"]
