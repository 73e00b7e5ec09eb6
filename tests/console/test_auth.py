"""Sign-in, sign-out, throttling, CSRF, and the home page figures."""

from datetime import timedelta

import pytest
from sqlmodel import select

from crm.friends.models import Friend, FriendStatus
from crm.staff.models import AuditEntry
from crm.timeutil import utcnow
from tests.console_helpers import csrf_token, login, signed_in_client
from tests.factories import PASSWORD, make_staff


@pytest.mark.db_agnostic  # the guard redirects before any SQL runs
def test_console_requires_sign_in(client):
    response = client.get("/")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


@pytest.mark.real_hasher
def test_sign_in_and_out(app, client, session):
    email = make_staff(app, "staff")
    response = login(client, email)
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    token = csrf_token(client, "/")
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/").status_code == 302
    assert "staff.signed_in" in session.exec(select(AuditEntry.action)).all()


@pytest.mark.real_hasher
def test_wrong_password_is_refused(app, client):
    email = make_staff(app, "staff")
    response = login(client, email, "wrong password!")
    assert response.status_code == 401
    assert client.get("/").status_code == 302


def test_sign_in_is_throttled_after_repeated_failures(app, client):
    email = make_staff(app, "staff")
    statuses = [login(client, email, f"guess-{i}-password").status_code for i in range(5)]
    assert statuses == [401] * 5
    response = login(client, email, PASSWORD)
    assert response.status_code == 429
    assert client.get("/").status_code == 302


@pytest.mark.db_agnostic  # the CSRF check refuses the form before any SQL runs
def test_form_without_csrf_token_is_rejected(app, client):
    email = make_staff(app, "staff")
    response = client.post("/login", data={"email": email, "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/").status_code == 302


@pytest.mark.db_agnostic  # cookie flags
def test_session_cookie_is_httponly(app, client):
    response = login(client, make_staff(app, "admin"))
    cookie = response.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie


def test_home_shows_todays_figures(app, session):
    now = utcnow()
    session.add(Friend(line_user_id="U1", status=FriendStatus.FOLLOWING, last_followed_at=now))
    session.add(Friend(line_user_id="U2", status=FriendStatus.FOLLOWING, last_followed_at=now - timedelta(days=3)))
    session.add(
        Friend(
            line_user_id="U3", status=FriendStatus.BLOCKED, last_followed_at=now - timedelta(days=30), blocked_at=now
        )
    )
    session.commit()
    client = signed_in_client(app, "analyst")
    html = client.get("/").get_data(as_text=True)
    assert 'data-figure="following">2<' in html
    assert 'data-figure="follows_week">2<' in html
    assert 'data-figure="blocks_today">1<' in html


@pytest.mark.db_agnostic  # rendering in the chosen language
def test_language_switch_to_english(app):
    client = signed_in_client(app, "staff")
    assert "ログアウト" in client.get("/").get_data(as_text=True)
    token = csrf_token(client, "/")
    client.post("/language", data={"locale": "en", "csrf_token": token})
    assert "Sign out" in client.get("/").get_data(as_text=True)
