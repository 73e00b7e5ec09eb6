"""Signing in over plain HTTP where cookies are Secure: the page says why instead of failing silently."""

import pytest

from tests.console_helpers import CSRF_INPUT
from tests.factories import PASSWORD, make_staff


def _sign_in(client, base_url: str, **headers):
    headers.setdefault("Referer", f"{base_url}/login")  # browsers send it; Flask-WTF checks it over HTTPS
    page = client.get("/login", base_url=base_url, headers=headers)
    token = CSRF_INPUT.search(page.get_data(as_text=True)).group(1)
    data = {"email": "staff@example.com", "password": PASSWORD, "csrf_token": token}
    return page, client.post("/login", data=data, base_url=base_url, headers=headers)


def test_plain_http_sign_in_says_https_is_needed(app):
    make_staff(app, "staff")
    client = app.test_client()
    page, response = _sign_in(client, "http://crm.example.com")
    assert "https://" in page.get_data(as_text=True) and "data-https-required" in page.get_data(as_text=True)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "HTTPS でのみ" in html and "TRUSTED_PROXY_COUNT" in html
    assert client.get("/", base_url="http://crm.example.com").status_code == 302


@pytest.mark.parametrize(
    "base_url", ["https://crm.example.com", "http://127.0.0.1", "http://localhost:5000", "http://[::1]"]
)
def test_https_and_this_computer_sign_in(app, base_url):
    make_staff(app, "staff")
    page, response = _sign_in(app.test_client(), base_url)
    assert "data-https-required" not in page.get_data(as_text=True)
    assert response.status_code == 302


def test_https_at_a_trusted_proxy_counts(make_app):
    app = make_app(TRUSTED_PROXY_COUNT=1)
    make_staff(app, "staff")
    _page, response = _sign_in(
        app.test_client(),
        "http://crm.example.com",
        **{"X-Forwarded-Proto": "https", "Referer": "https://crm.example.com/login"},
    )
    assert response.status_code == 302


def test_a_browser_that_dropped_the_secure_cookie_is_told_why(app):
    """A real browser keeps no Secure cookie over plain HTTP, so the CSRF check fails before the sign-in runs."""
    make_staff(app, "staff")
    page = app.test_client().get("/login", base_url="http://crm.example.com")
    token = CSRF_INPUT.search(page.get_data(as_text=True)).group(1)
    data = {"email": "staff@example.com", "password": PASSWORD, "csrf_token": token}
    response = app.test_client().post("/login", data=data, base_url="http://crm.example.com")
    assert response.status_code == 400
    assert "HTTPS でのみ" in response.get_data(as_text=True)
