"""The shared action editor in a phone-sized browser (390 px), as the survey builder hosts it: choose a kind,
then its parameters; add, move and remove rows; the saved list follows the page's order."""

from playwright.sync_api import expect
from sqlmodel import select

from crm.db import get_engine, session_scope
from surveys import actions as survey_actions
from surveys.models import SurveyChoice
from tests.browser.test_survey_browser import sign_in
from tests.factories import make_staff, make_tag
from tests.surveys.helpers import build_survey, single


def test_the_action_editor_on_a_phone(app, console_url, browser):
    vip = make_tag(app, "VIP")
    make_tag(app, "常連")
    survey_id = build_survey(app, single("来店頻度は？", "毎週", "たまに"), publish=False)
    with session_scope(get_engine(app)) as session:
        question_id = session.exec(select(SurveyChoice.question_id)).first()
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, locale="ja-JP")
    page = context.new_page()
    sign_in(page, console_url, make_staff(app, "editor"))
    page.goto(f"{console_url}/surveys/{survey_id}/questions/{question_id}/edit")
    page.get_by_text("選択肢1のその他のアクション").click()
    editor = page.locator(".action-editor").first
    rows = editor.locator(".action-row")
    expect(rows).to_have_count(1)
    rows.nth(0).locator(".action-type").select_option(label="対応マークを付ける")
    expect(rows.nth(0).locator('[data-kind="add_tag"]')).to_be_hidden()
    rows.nth(0).locator(".action-params:visible").get_by_label("対応マーク").select_option(label="要対応にする")

    editor.get_by_role("button", name="＋ アクションを追加").click()
    editor.get_by_role("button", name="＋ アクションを追加").click()
    expect(rows).to_have_count(3)
    rows.nth(1).locator(".action-type").select_option(label="タグを付ける")
    rows.nth(1).locator(".action-params:visible").get_by_label("タグ").select_option(label="VIP")
    rows.nth(2).get_by_role("button", name="外す").click()
    expect(rows).to_have_count(2)
    rows.nth(1).get_by_role("button", name="上へ").click()  # the tag first, then the mark
    expect(rows.nth(0).locator(".action-type")).to_have_value("add_tag")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    page.get_by_role("button", name="質問を保存").click()
    expect(page.get_by_text("質問を保存しました。")).to_be_visible()
    context.close()
    with session_scope(get_engine(app)) as session:
        choices = session.exec(select(SurveyChoice).order_by(SurveyChoice.id.desc())).all()
        first = next(choice for choice in choices if choice.label == "毎週")
        assert survey_actions.parse(first.actions) == [
            {"type": "add_tag", "tag_id": vip},
            {"type": "mark_attention", "state": "needed"},
        ]
