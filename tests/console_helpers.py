"""Helpers for console tests: a signed-in test client and the CSRF tokens of its forms."""

from __future__ import annotations

import re

from tests.factories import PASSWORD, make_staff

CSRF_INPUT = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_token(client, path: str = "/login") -> str:
    """Read a CSRF token from a page's form."""
    html = client.get(path).get_data(as_text=True)
    match = CSRF_INPUT.search(html)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def login(client, email: str, password: str = PASSWORD):
    """Sign in through the real form."""
    token = csrf_token(client)
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token})


def signed_in_client(app, role: str, **kwargs):
    """A test client signed in as a new staff member with this role."""
    client = app.test_client()
    response = login(client, make_staff(app, role, **kwargs))
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


def post_form(client, path: str, data: dict, form_page: str | None = None):
    """POST a form with a CSRF token taken from form_page (default: the home page)."""
    token = csrf_token(client, form_page or "/")
    return client.post(path, data={**data, "csrf_token": token})
