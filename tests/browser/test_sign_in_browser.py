"""Sign in through a real browser, and switch the console to English."""

from playwright.sync_api import expect

from tests.factories import PASSWORD, make_staff


def test_sign_in_and_switch_to_english(app, console_url, page):
    email = make_staff(app, "staff")
    page.goto(f"{console_url}/")
    expect(page).to_have_url(f"{console_url}/login?next=%2F")
    page.get_by_label("メールアドレス").fill(email)
    page.get_by_label("パスワード").fill(PASSWORD)
    page.get_by_role("button", name="ログイン").click()
    expect(page.get_by_role("heading", name="今日")).to_be_visible()
    # The switcher submits on change through the deferred console script: wait until it has run.
    page.wait_for_load_state("load")
    page.get_by_label("言語").select_option("en")
    expect(page.get_by_role("heading", name="Today")).to_be_visible()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def test_console_pages_break_no_content_security_policy_rule(app, console_url, page):
    violations = []
    page.on("console", lambda message: "Content Security Policy" in message.text and violations.append(message.text))
    email = make_staff(app, "admin")
    page.goto(f"{console_url}/login")
    page.get_by_label("メールアドレス").fill(email)
    page.get_by_label("パスワード").fill(PASSWORD)
    page.get_by_role("button", name="ログイン").click()
    expect(page.get_by_role("heading", name="今日")).to_be_visible()
    for path in ("/segments", "/segments/new", "/broadcasts/new", "/friends", "/tags", "/r/unknown"):
        page.goto(f"{console_url}{path}")
        page.wait_for_load_state("networkidle")
    page.goto(f"{console_url}/")
    page.wait_for_load_state("load")
    page.get_by_label("言語").select_option("en")
    expect(page.get_by_role("heading", name="Today")).to_be_visible()
    assert violations == []
