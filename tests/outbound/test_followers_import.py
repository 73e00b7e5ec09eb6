"""Followers import against the simulator: pages of 1,000, resumable, rate limits, refused accounts."""

from datetime import timedelta

import pytest
from sqlmodel import func, select

from crm.db import get_engine, session_scope
from crm.friends.jobs import PROFILE_LEASE
from crm.friends.models import Friend, FriendStatus
from crm.friends.service import claim_due_profile_fetches
from crm.imports import followers as followers_import
from crm.imports.jobs import import_followers
from crm.imports.models import FollowerImport, ImportedFriend, ImportState
from crm.line.runtime import line_client
from crm.staff.audit import Actor
from crm.timeutil import utcnow
from tests.console_helpers import signed_in_client

ADMIN = Actor.system("test")
KNOWN = "U" + "1" * 32


def seed_followers(simulator, sim, count: int) -> list[str]:
    """Put `count` following users into the simulator directly (the control API makes one per request)."""
    state = simulator.server.app.extensions["linesim"]
    users = [state.add_user(display_name=f"Follower {n}", status="following") for n in range(count)]
    state.add_user(display_name="Never followed")  # not a follower: never listed
    return [user.user_id for user in users]


def start(engine) -> int:
    with session_scope(engine) as session:
        return followers_import.start(session, actor=ADMIN, now=utcnow()).id


def job(engine) -> FollowerImport:
    with session_scope(engine) as session:
        return followers_import.latest(session)


def followers_calls(sim) -> int:
    return len(sim.requests_log(path="/v2/bot/followers/ids"))


def friend_count(engine) -> int:
    with session_scope(engine) as session:
        return session.exec(select(func.count()).select_from(Friend)).one()


def test_2500_followers_arrive_in_3_pages_with_profiles_queued(app, engine, simulator, sim):
    ids = seed_followers(simulator, sim, 2500)
    with session_scope(engine) as session:  # one known friend, one we wrongly think blocked
        session.add(Friend(line_user_id=ids[0], display_name="Known", follow_count=2))
        session.add(Friend(line_user_id=ids[1], status=FriendStatus.BLOCKED, follow_count=1))
    start(engine)
    assert import_followers(engine, line_client(app), max_pages=10) == 3
    assert followers_calls(sim) == 3
    done = job(engine)
    assert (done.state, done.pages, done.ids_seen, done.created) == (ImportState.DONE, 3, 2500, 2498)
    with session_scope(engine) as session:
        assert session.exec(select(func.count()).select_from(ImportedFriend)).one() == 2498
        known = session.exec(select(Friend).where(Friend.line_user_id == ids[0])).one()
        revived = session.exec(select(Friend).where(Friend.line_user_id == ids[1])).one()
        new = session.exec(select(Friend).where(Friend.line_user_id == ids[-1])).one()
    assert (known.display_name, known.follow_count) == ("Known", 2)  # left as it was
    assert revived.status == FriendStatus.FOLLOWING
    assert new.follow_count == 0 and new.first_followed_at is None and new.profile_fetch_due_at is not None
    with session_scope(engine) as session:  # the ordinary profile queue takes over
        claimed = claim_due_profile_fetches(session, now=utcnow(), lease=PROFILE_LEASE, limit=20)
    assert len(claimed) == 20 and {line_user_id for _id, line_user_id, _attempts in claimed} <= set(ids[1:])
    assert import_followers(engine, line_client(app)) == 0 and followers_calls(sim) == 3  # nothing more to do


def test_an_interrupted_import_resumes_from_its_stored_token(make_app, simulator, sim):
    seed_followers(simulator, sim, 2500)
    first = make_app()
    engine = get_engine(first)
    start(engine)
    assert import_followers(engine, line_client(first), max_pages=1) == 1
    stopped = job(engine)
    assert stopped.state == ImportState.RUNNING and stopped.pages == 1 and stopped.next_token
    engine.dispose()
    second = make_app()  # the worker restarts: only the database remembers where it was
    assert import_followers(get_engine(second), line_client(second), max_pages=10) == 2
    assert followers_calls(sim) == 3 and friend_count(get_engine(second)) == 2500
    assert job(get_engine(second)).state == ImportState.DONE


def test_rate_limited_pages_back_off_and_continue(app, engine, simulator, sim):
    seed_followers(simulator, sim, 1500)
    start(engine)
    sim.set_fault("/v2/bot/followers/ids", status=429, count=1)
    now = utcnow()
    assert import_followers(engine, line_client(app), now=now) == 0
    waiting = job(engine)
    assert waiting.state == ImportState.RUNNING and waiting.last_error.startswith("429")
    assert waiting.next_attempt_at >= now + timedelta(seconds=10)
    assert import_followers(engine, line_client(app), now=now) == 0 and followers_calls(sim) == 1  # not yet due
    assert import_followers(engine, line_client(app), now=waiting.next_attempt_at) == 2
    assert job(engine).state == ImportState.DONE and friend_count(engine) == 1500


def test_a_refused_account_gets_a_clear_message(app, engine, simulator, sim):
    seed_followers(simulator, sim, 3)
    sim.configure(followersApi="forbidden")
    start(engine)
    assert import_followers(engine, line_client(app)) == 0
    refused = job(engine)
    assert refused.state == ImportState.FORBIDDEN and friend_count(engine) == 0
    html = signed_in_client(app, "admin", locale="en").get("/settings/followers-import").get_data(as_text=True)
    assert 'data-import-state="forbidden"' in html
    assert "does not allow this account to read its followers" in html
    assert import_followers(engine, line_client(app)) == 0 and followers_calls(sim) == 1  # it does not retry


def test_only_one_import_runs_at_a_time(engine):
    start(engine)
    with pytest.raises(followers_import.FollowersImportError):
        start(engine)
