"""An admin in a real browser creates an API token, an integration calls the API over HTTP with it, the page
shows the last use, the admin revokes it, and the next call is refused; the docs page lists the operations."""

import re

import requests
from playwright.sync_api import expect

from tests.factories import PASSWORD, make_staff


def test_create_use_and_revoke_a_token(app, console_url, page):
    email = make_staff(app, "admin")
    page.goto(f"{console_url}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("form button[type=submit]")

    page.goto(f"{console_url}/settings/api-tokens")
    page.fill("input[name=name]", "在庫システム")
    page.select_option("select[name=role]", "staff")
    page.click("form[action$='/api-tokens'] button[type=submit]")
    secret = page.locator("code[data-secret]").inner_text()
    assert secret.startswith("lcrm_")

    headers = {"Authorization": f"Bearer {secret}"}
    assert requests.get(f"{console_url}/api/v1/friends", headers=headers, timeout=10).status_code == 200
    page.goto(f"{console_url}/settings/api-tokens")
    expect(page.locator("code[data-secret]")).to_have_count(0)
    expect(page.locator("td[data-last-used]")).to_have_text(re.compile(r"\d{4}"))  # a time, not "never"

    page.click("form[action$='/revoke'] button[type=submit]")
    expect(page.locator(".flash-success")).to_be_visible()
    refused = requests.get(f"{console_url}/api/v1/friends", headers=headers, timeout=10)
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "unauthorized"

    page.goto(f"{console_url}/api-docs")
    expect(page.locator("[data-operation='GET /api/v1/friends']")).to_be_visible()
