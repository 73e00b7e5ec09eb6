"""An admin on a phone-sized screen finds a LINE event that failed, with its error in Japanese, and retries it
once the cause is fixed."""

from playwright.sync_api import expect

from crm.webhook.postbacks import REGISTRY_KEY
from tests.factories import PASSWORD, make_staff


def test_see_and_retry_a_failed_event_on_a_phone(app, sim, console_url, browser):
    state = {"fixed": False, "handled": 0}

    def handler(_context):
        if not state["fixed"]:
            raise RuntimeError("survey step missing")
        state["handled"] += 1

    app.extensions[REGISTRY_KEY].register("broken:", handler)
    user = sim.create_user("花子")
    sim.follow(user)
    assert sim.postback(user, "broken:1")["status"] == 200

    context = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True, locale="ja-JP")
    page = context.new_page()
    page.goto(f"{console_url}/login")
    page.fill("input[name=email]", make_staff(app, "admin"))
    page.fill("input[name=password]", PASSWORD)
    page.click("form button[type=submit]")
    page.goto(f"{console_url}/settings/line-events/failed")
    expect(page.locator("h1")).to_have_text("処理できなかったLINEイベント")
    row = page.locator("tr[data-failure]")
    expect(row).to_contain_text("RuntimeError")
    expect(row).to_contain_text("survey step missing")

    state["fixed"] = True
    row.locator("button[type=submit]").click()
    expect(page.locator(".flash-success")).to_have_text("イベントを処理しました。")
    expect(row).to_contain_text("処理済み")
    assert state["handled"] == 1
    context.close()
