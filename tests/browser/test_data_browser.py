"""In a real browser at desktop and phone width: import a Shift_JIS CSV (suggested mapping, readings too, dry
run, batches that continue by themselves), then erase a friend's data by typing the confirmation."""

import pytest
from playwright.sync_api import expect

from crm.imports import rows as import_rows
from tests.browser.pages import no_sideways_scroll
from tests.data.helpers import friend, seed, user_id
from tests.factories import PASSWORD, make_staff


def _sign_in(app, page, console_url):
    email = make_staff(app, "admin", locale="en")
    page.goto(f"{console_url}/login")
    page.get_by_label("メールアドレス").fill(email)  # the sign-in page is in Japanese until we know who it is
    page.get_by_label("パスワード").fill(PASSWORD)
    page.get_by_role("button", name="ログイン").click()
    expect(page.get_by_role("heading", name="Today")).to_be_visible()


@pytest.mark.parametrize("width", [1366, 390])
def test_import_then_erase_in_the_browser(app, console_url, page, tmp_path, monkeypatch, width):
    page.set_viewport_size({"width": width, "height": 900})
    monkeypatch.setattr(import_rows, "BATCH_ROWS", 1)  # one row per batch: the progress page must continue
    seeded = seed(app)
    path = tmp_path / "lstep.csv"
    rows = [
        f"{user_id(0xE1)},花子,ハナコ,来店済、誕生月,電話は昼",
        f"{user_id(0xE2)},太郎,,来店済,",
        f"{user_id(0x404)},誰か,,来店済,",
    ]
    path.write_bytes(("ユーザーID,表示名,フリガナ,タグ,個別メモ\r\n" + "\r\n".join(rows) + "\r\n").encode("cp932"))
    _sign_in(app, page, console_url)
    page.goto(f"{console_url}/imports")
    page.set_input_files("input[type=file]", str(path))
    page.get_by_role("button", name="Upload and check").click()
    expect(page.get_by_text("read as cp932")).to_be_visible()
    expect(page.get_by_label("タグ")).to_have_value("tags")
    expect(page.get_by_label("個別メモ")).to_have_value("note")
    expect(page.get_by_label("フリガナ")).to_have_value("reading")
    no_sideways_scroll(page, width, "the column mapping")
    page.get_by_role("button", name="Check all rows (dry run)").click()
    expect(page.locator("[data-preview]")).to_contain_text("2 of 3 rows can be imported")
    expect(page.locator('[data-row-error="4"]')).to_contain_text("Unknown LINE user ID")
    no_sideways_scroll(page, width, "the dry run")
    page.get_by_role("button", name="Import 2 rows").click()
    expect(page.locator("[data-done]")).to_contain_text("2 rows applied, 1 skipped")
    page.goto(f"{console_url}/friends/{seeded.friend_id}")
    expect(page.get_by_text("電話は昼").first).to_be_visible()
    expect(page.locator("[data-reading]")).to_have_text("はなこ")  # stored in search form
    page.get_by_role("link", name="Erase this friend's data…").click()
    expect(page.get_by_text("This cannot be undone.")).to_be_visible()
    page.get_by_label(f"Type the friend number {seeded.friend_id} to confirm").fill(str(seeded.friend_id))
    page.get_by_role("button", name="Erase permanently").click()
    expect(page.get_by_text("The friend's personal data was erased.")).to_be_visible()
    assert friend(app, seeded.friend_id).display_name is None
