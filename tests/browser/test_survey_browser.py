"""Build a survey in the console with a real browser, answer it in the simulated chat and in the web form on a
phone-sized screen, then read the results."""

from playwright.sync_api import expect

from surveys.chat_messages import start_data
from surveys.views import webform
from tests.factories import PASSWORD, make_staff
from tests.surveys.helpers import build_survey, english_friend, last_message, multiple, responses, single, tap


def sign_in(page, url, email):
    page.goto(f"{url}/login")
    page.locator("input[name=email]").fill(email)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("form button[type=submit]").click()


def add_question(page, kind: str, text: str, labels=(), required=True):
    page.get_by_role("link", name="Add a question").click()
    page.get_by_label("Type").select_option(kind)
    page.get_by_label("Question").fill(text)
    if not required:
        page.get_by_label("Required").uncheck()
    for index, label in enumerate(labels, start=1):
        choice = page.get_by_label(f"Choice {index}", exact=True)
        if not choice.is_visible():
            page.get_by_role("button", name="Add a choice").click()
        choice.fill(label)
    page.get_by_role("button", name="Save question").click()
    expect(page.get_by_text("Question saved.")).to_be_visible()


def test_build_publish_answer_and_read_results(app, sim, console_url, page):
    sign_in(page, console_url, make_staff(app, "marketer", locale="en"))
    page.get_by_role("navigation").get_by_role("link", name="Surveys", exact=True).click()
    page.get_by_label("Title").fill("Store visit")
    page.get_by_label("Completion message").fill("Thank you!")
    page.get_by_role("button", name="Create survey").click()
    expect(page.get_by_role("heading", name="Store visit")).to_be_visible()
    add_question(page, "single", "How did you hear about us?", ("Friends", "Instagram"))
    add_question(page, "text", "Anything else?", required=False)
    page.get_by_role("button", name="Publish").click()
    expect(page.get_by_text("Published. New answers use these questions.")).to_be_visible()
    survey_id = int(page.url.rstrip("/").split("/")[-1].split("#")[0])

    user, friend = english_friend(sim, app)
    sim.postback(user, start_data(survey_id))
    tap(sim, user, "Instagram")
    sim.send_text(user, "Nice shop")
    assert last_message(sim, user)["text"] == "Thank you!"

    page.goto(console_url + "/s/" + webform.make_token(app, friend_id=friend, survey_id=survey_id))
    expect(page.get_by_text("You have already answered this survey. Thank you!")).to_be_visible()

    page.goto(f"{console_url}/surveys/{survey_id}/results")
    expect(page.locator('[data-figure="started"] .value')).to_have_text("1")
    expect(page.locator('[data-choice="Instagram"] [data-figure="count"]')).to_have_text("1")
    expect(page.get_by_text("Nice shop").first).to_be_visible()
    assert [r.status for r in responses(app, friend)] == ["completed"]


def test_web_form_on_a_phone(app, sim, console_url, browser):
    survey_id = build_survey(
        app,
        single("Visit?", "Weekly", "Rarely"),
        multiple("Drinks", "Coffee", "Tea"),
        completion_message="See you soon!",
    )
    user, friend = english_friend(sim, app)
    context = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True, locale="en-US")
    page = context.new_page()
    page.goto(console_url + "/s/" + webform.make_token(app, friend_id=friend, survey_id=survey_id))
    page.get_by_role("button").last.click()  # nothing chosen yet
    expect(page.get_by_text("Choose an answer.")).to_be_visible()
    page.get_by_text("Rarely").click()
    page.get_by_text("Coffee").click()
    page.get_by_text("Tea").click()
    page.get_by_role("button").last.click()
    expect(page.get_by_text("See you soon!")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    context.close()
    assert [r.channel for r in responses(app, friend)] == ["web"]


def test_the_question_form_shows_only_what_its_type_uses(app, console_url, page):
    page.set_viewport_size({"width": 390, "height": 844})
    survey_id = build_survey(app, publish=False)
    sign_in(page, console_url, make_staff(app, "marketer"))
    page.goto(f"{console_url}/surveys/{survey_id}/questions/new")
    page.wait_for_load_state("load")
    free_text, choices = page.locator("fieldset", has_text="自由記述"), page.locator("fieldset", has_text="選択肢")
    page.get_by_label("種類").select_option("text")
    expect(free_text).to_be_visible()
    expect(choices).to_be_hidden()
    page.get_by_label("種類").select_option("single")
    expect(free_text).to_be_hidden()
    rows = choices.locator("tbody tr")
    expect(rows.filter(has=page.locator(":visible"))).to_have_count(1)  # one empty row to start
    add = page.get_by_role("button", name="選択肢を追加")
    add.click()
    expect(page.get_by_label("選択肢2", exact=True)).to_be_focused()
    page.get_by_label("質問", exact=True).fill("ご来店の頻度は？")
    page.get_by_label("選択肢1", exact=True).fill("毎週")
    page.get_by_label("選択肢2", exact=True).fill("たまに")
    page.get_by_role("button", name="質問を保存").click()
    expect(page.get_by_text("毎週")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 1
