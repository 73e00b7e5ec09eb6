"""Sign-in throttling: growing waits per (email, client address), never a lock of the account for its owner."""

from datetime import timedelta

import pytest
from argon2 import PasswordHasher, profiles
from sqlmodel import func, select

from crm.staff import service as staff_service
from crm.staff import throttle
from crm.staff.models import LoginAttempt
from crm.timeutil import utcnow
from tests.console_helpers import login
from tests.factories import PASSWORD, make_staff

EMAIL = "owner@example.com"


def _client(app, address: str, forwarded_for: str | None = None):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    if forwarded_for:
        client.environ_base["HTTP_X_FORWARDED_FOR"] = forwarded_for
    return client


def _fail(client, times: int, email: str = EMAIL) -> list[int]:
    return [login(client, email, f"guess-{i}-password").status_code for i in range(times)]


def test_waits_double_after_the_free_failures_up_to_a_cap():
    assert throttle.delay_after(throttle.FREE_FAILURES - 1) == timedelta(0)
    assert throttle.delay_after(throttle.FREE_FAILURES) == timedelta(seconds=30)
    assert throttle.delay_after(throttle.FREE_FAILURES + 1) == timedelta(seconds=60)
    assert throttle.delay_after(throttle.FREE_FAILURES + 2) == timedelta(seconds=120)
    assert throttle.delay_after(1000) == throttle.MAX_DELAY == timedelta(minutes=15)


def test_the_wait_runs_from_the_last_failure(session):
    start = utcnow()
    for i in range(throttle.FREE_FAILURES + 1):
        throttle.record_failure(session, email=EMAIL, ip_address="10.0.0.1", now=start + timedelta(seconds=i))
    last = start + timedelta(seconds=throttle.FREE_FAILURES)
    wait = throttle.wait_before_next_try(session, email=EMAIL, ip_address="10.0.0.1", now=last)
    assert wait == timedelta(seconds=60)
    later = last + timedelta(seconds=59)
    assert throttle.wait_before_next_try(session, email=EMAIL, ip_address="10.0.0.1", now=later) == timedelta(seconds=1)
    assert throttle.wait_before_next_try(session, email=EMAIL, ip_address="10.0.0.1", now=later + timedelta(1)) is None
    assert throttle.wait_before_next_try(session, email=EMAIL, ip_address="10.0.0.2", now=last) is None


def test_the_owner_signs_in_from_elsewhere_while_one_address_is_throttled(app):
    make_staff(app, "staff", email=EMAIL)
    attacker = _client(app, "203.0.113.9")
    assert _fail(attacker, 6) == [401] * 5 + [429]
    assert login(_client(app, "198.51.100.7"), EMAIL, PASSWORD).status_code == 302
    assert login(attacker, EMAIL, PASSWORD).status_code == 429  # the attacker's wait is not reset by the owner


def test_behind_a_proxy_each_client_is_throttled_apart(make_app):
    app = make_app(TRUSTED_PROXY_COUNT=1)
    make_staff(app, "staff", email=EMAIL)
    make_staff(app, "admin", email="colleague@example.com")
    guesser = _client(app, "10.0.0.1", forwarded_for="203.0.113.9")
    for number in range(5):
        _fail(guesser, 5, email=f"nobody{number}@example.com")
    assert _fail(guesser, 5) == [401] * 5
    assert login(_client(app, "10.0.0.1", forwarded_for="198.51.100.7"), EMAIL, PASSWORD).status_code == 302
    colleague = _client(app, "10.0.0.1", forwarded_for="192.0.2.4")
    assert login(colleague, "colleague@example.com", PASSWORD).status_code == 302


def test_without_trusted_proxies_forwarded_headers_are_ignored(app):
    make_staff(app, "staff", email=EMAIL)
    assert _fail(_client(app, "10.0.0.1", forwarded_for="203.0.113.9"), 5) == [401] * 5
    assert login(_client(app, "10.0.0.1", forwarded_for="198.51.100.7"), EMAIL, PASSWORD).status_code == 429


def test_the_page_says_in_japanese_how_long_to_wait(app):
    make_staff(app, "staff", email=EMAIL)
    client = _client(app, "203.0.113.9")
    _fail(client, 5)
    response = login(client, EMAIL, PASSWORD)
    assert response.status_code == 429
    assert response.headers["Retry-After"] in ("29", "30")
    html = response.get_data(as_text=True)
    assert "秒待ってから" in html and ("30 秒" in html or "29 秒" in html)


def test_failures_older_than_a_day_are_deleted_when_a_new_one_is_recorded(session):
    now = utcnow()
    throttle.record_failure(session, email=EMAIL, ip_address="10.0.0.1", now=now - timedelta(days=2))
    throttle.record_failure(session, email="other@example.com", ip_address="10.0.0.2", now=now - timedelta(hours=1))
    throttle.record_failure(session, email=EMAIL, ip_address="10.0.0.1", now=now)
    session.commit()
    assert session.exec(select(func.count()).select_from(LoginAttempt)).one() == 2


class CountingHasher(PasswordHasher):
    """The tests' cheap hasher, counting how many passwords it verifies."""

    def __init__(self):
        cheapest = profiles.CHEAPEST
        super().__init__(cheapest.time_cost, cheapest.memory_cost, cheapest.parallelism, cheapest.hash_len)
        self.verified = 0

    def verify(self, hash, password):
        self.verified += 1
        return super().verify(hash, password)


@pytest.mark.parametrize("email", [EMAIL, "nobody@example.com"], ids=["known", "unknown"])
def test_an_unknown_email_costs_one_password_check_like_a_known_one(app, monkeypatch, email):
    make_staff(app, "staff", email=EMAIL)
    hasher = CountingHasher()
    monkeypatch.setattr(staff_service, "HASHER", hasher)
    assert login(app.test_client(), email, "wrong password!").status_code == 401
    assert hasher.verified == 1
