"""A staff member builds a keyword reply in a real browser (desktop and phone width), tries it in the 「試す」 box,
and a friend typing the keyword in the LINE simulator's chat sees the answer; the emergency stop's banner shows."""

import pytest
from playwright.sync_api import expect

from tests.browser.menu import open_area
from tests.browser.pages import no_sideways_scroll, sign_in
from tests.factories import make_staff, make_template


@pytest.mark.parametrize("width", [1280, 390])
def test_create_a_keyword_reply_and_see_the_simulator_answer(app, sim, simulator, console_url, page, width):
    page.set_viewport_size({"width": width, "height": 900})
    make_template(app, [{"type": "text", "text": "営業時間は10時から19時です"}], name="営業時間のご案内")
    sign_in(page, console_url, make_staff(app, "staff"))
    open_area(page, "自動応答")
    page.get_by_role("link", name="キーワード応答を作成").click()
    expect(page.locator("input[name=name]")).to_be_visible()  # the form has loaded: measuring mid-navigation fails
    no_sideways_scroll(page, width, "the rule form")
    page.fill("input[name=name]", "営業時間")
    page.fill("textarea[name=keywords]", "営業時間\n何時まで")
    page.check("input[name=ignore_spaces]")
    page.select_option("select[name=template_id]", label="営業時間のご案内")
    page.get_by_role("button", name="保存", exact=True).click()
    expect(page.locator(".flash-success")).to_contain_text("自動応答を保存しました。")
    expect(page.locator("tr[data-rule]")).to_have_count(1)
    no_sideways_scroll(page, width, "the rule list")

    page.fill("input[name=text]", "営業 時間を教えて")
    page.get_by_role("button", name="試す", exact=True).click()
    expect(page.locator("#try-result")).to_contain_text("営業時間")

    user = sim.create_user("お客様")
    chat = page.context.new_page()
    chat.goto(f"{simulator.url}/?user={user}")
    chat.get_by_role("button", name="友だち追加 Add friend").click()
    chat.get_by_role("button", name="ブロック Block").wait_for()
    chat.fill(".composer input", "何時まで開いてますか？")
    chat.press(".composer input", "Enter")
    expect(chat.locator(".bubble.bot", has_text="営業時間は10時から19時です")).to_be_visible()
    chat.close()

    page.reload()
    expect(page.locator("tr[data-rule] [data-count=today]")).to_have_text("1")
    page.get_by_role("button", name="すべての自動応答を停止する").click()
    expect(page.locator("#automatic-answers-paused")).to_be_visible()
    open_area(page, "友だち")
    expect(page.locator("#automatic-answers-paused")).to_be_visible()
