"""Profiles are fetched from LINE after the webhook answers, with retries; a slow LINE never slows the ack."""

import threading
from datetime import timedelta

from sqlmodel import Session, select, update

from crm.db import get_engine
from crm.friends.jobs import fetch_due_profiles
from crm.friends.models import Friend
from crm.line.client import LineClient
from crm.line.ratelimit import TokenBucket
from crm.line.runtime import line_client
from crm.timeutil import utcnow
from tests.clocks import ControlledClock
from tests.factories import friend_of


def make_due_now(app, user_id):
    with Session(get_engine(app)) as session:
        session.exec(
            update(Friend)
            .where(Friend.line_user_id == user_id)
            .values(profile_fetch_due_at=utcnow() - timedelta(seconds=1))
        )
        session.commit()


def tick(app):
    return fetch_due_profiles(get_engine(app), line_client(app))


def test_follow_then_worker_fetches_the_profile_from_the_simulator(app, sim, crm_server):
    user = sim.create_user(
        "山田 花子", picture_url="https://example.com/p.png", language="ja", status_message="こんにちは"
    )
    assert sim.follow(user)["status"] == 200
    assert friend_of(app, user).display_name is None
    assert tick(app) == 1
    friend = friend_of(app, user)
    assert (friend.display_name, friend.picture_url, friend.language, friend.status_message) == (
        "山田 花子",
        "https://example.com/p.png",
        "ja",
        "こんにちは",
    )
    assert friend.profile_fetch_due_at is None and friend.profile_fetched_at is not None
    assert tick(app) == 0
    assert len(sim.requests_log(path="/v2/bot/profile")) == 1


def test_profile_404_keeps_an_empty_profile_and_retries_later(app, sim, crm_server):
    user = sim.create_user("No consent", profile_consent=False)
    sim.follow(user)
    assert tick(app) == 0
    friend = friend_of(app, user)
    assert friend.display_name is None and friend.status == "following"
    assert friend.profile_fetch_attempts == 1
    assert friend.profile_fetch_due_at > utcnow() + timedelta(seconds=20)


def test_failed_fetch_is_retried_and_then_succeeds(app, sim, crm_server):
    user = sim.create_user("Retry me")
    sim.follow(user)
    sim.set_fault("profile", kind="error", count=1, status=500)
    assert tick(app) == 0
    assert friend_of(app, user).profile_fetch_attempts == 1
    make_due_now(app, user)
    assert tick(app) == 1
    assert friend_of(app, user).display_name == "Retry me"


def test_ack_stays_fast_while_line_stalls_and_the_fetch_times_out(make_app, sim):
    from tests.conftest import LiveServer

    # LINE stalls longer than the fetch's timeout, and the timeout is longer than any ack may take: an ack under
    # it cannot have waited for the fetch (a margin that holds on a loaded machine, unlike a tight figure).
    app = make_app(LINE_API_TIMEOUT_SECONDS=3.0)
    server = LiveServer(app)
    sim.configure(webhookUrl=f"{server.url}/callback")
    sim.set_fault("*", kind="stall", count=None, stall_seconds=6)
    try:
        user = sim.create_user("Slow LINE")
        result = sim.follow(user)
        assert result["status"] == 200
        assert result["elapsedMs"] < 2000
        assert tick(app) == 0
        friend = friend_of(app, user)
        assert friend.display_name is None and friend.profile_fetch_attempts == 1
    finally:
        sim.clear_faults()
        server.stop()


def test_blocked_friends_are_not_fetched(app, sim, crm_server):
    user = sim.create_user("Gone")
    sim.follow(user)
    sim.unfollow(user)
    assert tick(app) == 0
    assert sim.requests_log(path="/v2/bot/profile") == []


class ErasingLine:
    """A LINE client whose profile answer arrives after the friend was erased (the fetch was in flight)."""

    def __init__(self, app, line, *, fail: bool = False):
        self.app, self.line, self.fail = app, line, fail

    def get_profile(self, user_id):
        from crm.db import session_scope
        from crm.line.errors import LineApiError
        from crm.privacy.service import erase_friend
        from tests.factories import SYSTEM

        with session_scope(get_engine(self.app)) as session:
            erase_friend(session, friend_id=friend_of(self.app, user_id).id, actor=SYSTEM)
        if self.fail:
            raise LineApiError("server error", status=500)
        return self.line.get_profile(user_id)


def erased_friend(app):
    with Session(get_engine(app)) as session:
        return session.exec(select(Friend).where(Friend.status == "erased")).one()


def test_profile_arriving_after_erasure_is_not_written_back(app, sim, crm_server):
    user = sim.create_user("消されたい 花子", picture_url="https://example.com/p.png", status_message="秘密")
    sim.follow(user)
    assert fetch_due_profiles(get_engine(app), ErasingLine(app, line_client(app))) == 0
    friend = erased_friend(app)
    assert (friend.display_name, friend.picture_url, friend.language, friend.status_message) == (None,) * 4
    assert friend.profile_fetch_due_at is None and friend.profile_fetched_at is None


def test_failed_fetch_after_erasure_schedules_no_retry(app, sim, crm_server):
    user = sim.create_user("Erased while failing")
    sim.follow(user)
    fetch_due_profiles(get_engine(app), ErasingLine(app, line_client(app), fail=True))
    friend = erased_friend(app)
    assert friend.profile_fetch_due_at is None and friend.profile_fetch_attempts == 0


def followed_users(sim, count, prefix="Burst"):
    users = [sim.create_user(f"{prefix} {index}") for index in range(count)]
    for user in users:
        assert sim.follow(user)["status"] == 200
    return users


def test_a_burst_drains_in_one_tick_batch_after_batch(app, sim, crm_server):
    users = followed_users(sim, 25)
    assert fetch_due_profiles(get_engine(app), line_client(app), batch=4, concurrency=3) == 25
    assert [friend_of(app, user).display_name for user in users] == [f"Burst {index}" for index in range(25)]
    assert len(sim.requests_log(path="/v2/bot/profile")) == 25
    assert tick(app) == 0


def test_a_failing_profile_in_a_batch_is_retried_while_the_others_are_stored(app, sim, crm_server):
    users = followed_users(sim, 6)
    sim.set_fault("profile", kind="error", count=1, status=500)
    assert fetch_due_profiles(get_engine(app), line_client(app), batch=3, concurrency=3) == 5
    (failed,) = [user for user in users if friend_of(app, user).display_name is None]
    friend = friend_of(app, failed)
    assert friend.profile_fetch_attempts == 1 and friend.profile_fetch_due_at > utcnow() + timedelta(seconds=20)
    assert tick(app) == 0  # not due again yet
    make_due_now(app, failed)
    assert tick(app) == 1
    assert friend_of(app, failed).display_name == f"Burst {users.index(failed)}"


class MeetingLine:
    """A LINE client whose profile calls wait for one another: only calls made at the same time get through."""

    def __init__(self, line, parties: int):
        self.line = line
        self.barrier = threading.Barrier(parties, timeout=30)

    def get_profile(self, user_id):
        self.barrier.wait()
        return self.line.get_profile(user_id)


def test_profiles_of_a_batch_are_fetched_concurrently_over_http(app, sim, crm_server):
    followed_users(sim, 8)
    line = MeetingLine(line_client(app), parties=4)  # four calls in flight at once, or the barrier breaks
    assert fetch_due_profiles(get_engine(app), line, batch=8, concurrency=4) == 8
    assert len(sim.requests_log(path="/v2/bot/profile")) == 8


def test_profile_requests_keep_to_the_rate_limit(app, sim, crm_server):
    users = followed_users(sim, 12)
    clock = ControlledClock()
    line = LineClient(
        api_base=sim.base_url,
        access_token="simulator-access-token",
        profile_bucket=TokenBucket(10, burst=2, clock=clock, sleep=clock.sleep),
    )
    assert fetch_due_profiles(get_engine(app), line, batch=5, concurrency=4) == 12
    assert clock() >= (12 - 2) / 10 - 1e-9  # 10 requests past the burst at 10 a second
    assert all(friend_of(app, user).display_name for user in users)


class OddAnswerLine:
    """A LINE client that fails one user's profile with an unexpected error (an answer the SDK cannot read)."""

    def __init__(self, line, odd_user):
        self.line, self.odd_user = line, odd_user

    def get_profile(self, user_id):
        if user_id == self.odd_user:
            raise ValueError("displayName: field required")
        return self.line.get_profile(user_id)


def test_an_unexpected_error_fails_that_friends_fetch_only(app, sim, crm_server):
    odd, fine = followed_users(sim, 2)
    assert fetch_due_profiles(get_engine(app), OddAnswerLine(line_client(app), odd)) == 1
    assert friend_of(app, fine).display_name == "Burst 1"
    assert friend_of(app, odd).display_name is None and friend_of(app, odd).profile_fetch_attempts == 1


def test_a_tick_past_its_time_claims_nothing_more(app, sim, crm_server):
    (user,) = followed_users(sim, 1)
    assert fetch_due_profiles(get_engine(app), line_client(app), max_seconds=0) == 0
    assert friend_of(app, user).profile_fetch_due_at <= utcnow()
    assert sim.requests_log(path="/v2/bot/profile") == []
