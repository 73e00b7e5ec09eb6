"""The greeting right after a follow, through the simulator over real HTTP: by the follow's reply token while it
is fresh, else by push under the send's retry key; `{name}` with the profile fetched first, or without one."""

import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from crm.db import get_engine, session_scope
from crm.scenarios.delivery_profiles import PROFILE_TIMEOUT
from crm.scenarios.enrolment import enrol
from crm.scenarios.models import Enrolment, Scenario, ScenarioStatus
from crm.scenarios.progress import advance_due
from crm.sending.models import OutgoingReply
from crm.timeutil import utcnow
from tests.conftest import LiveServer, handled_before_answering
from tests.factories import friend_of, make_scenario, make_template
from tests.scenarios.delivery_helpers import sends_of, texts, tick

# Each test runs with inline and with queued handling: the same effects either way.
pytestmark = pytest.mark.usefixtures("webhook_handling")

GREETING_END = "これからどうぞよろしくお願いいたします。"


def greeting_id(app) -> int:
    with session_scope(get_engine(app)) as session:
        return session.execute(select(Scenario.id).where(Scenario.is_greeting)).scalar_one()


def follow(sim, name: str, **profile) -> tuple[str, str]:
    """A new user follows the account (the CRM stores the friend from the webhook); (user id, reply token)."""
    user_id = sim.create_user(name, **profile)
    event = sim.follow(user_id)["event"]
    return user_id, event["replyToken"]


def enrol_after_follow(app, scenario_id: int, user_id: str, token: str, *, fresh_for: timedelta) -> int:
    """The follow enrolled the friend keeping its reply token (a friend-added scenario), or staff enrol them with
    it (another); the token is made to expire `fresh_for` from now, then the scenarios job decides the due steps.
    The first step's send id."""
    friend_id = friend_of(app, user_id).id
    with session_scope(get_engine(app)) as session:
        enrolment = session.execute(
            select(Enrolment).where(Enrolment.scenario_id == scenario_id, Enrolment.friend_id == friend_id)
        ).scalar_one_or_none()
        if enrolment is None:
            enrolment = enrol(session, scenario_id=scenario_id, friend_id=friend_id, trigger_key="test", now=utcnow())
        assert enrolment.reply_token in (token, None)
        enrolment.reply_token, enrolment.reply_expires_at = token, utcnow() + fresh_for
    for _ in range(3):  # immediate steps become due one after another
        with session_scope(get_engine(app)) as session:
            advance_due(session, now=utcnow())
    return sends_of(app, scenario_id)[0].id


def test_a_new_account_starts_with_an_active_greeting(app, greeting):
    with session_scope(get_engine(app)) as session:
        scenario = session.get(Scenario, greeting_id(app))
        assert (scenario.status, scenario.trigger_kind, scenario.is_greeting) == (
            ScenarioStatus.ACTIVE,
            "friend_added",
            True,
        )


def test_tests_start_with_the_greeting_switched_off(app):
    with session_scope(get_engine(app)) as session:
        assert session.get(Scenario, greeting_id(app)).status == ScenarioStatus.PAUSED


def test_greeting_goes_by_the_follows_reply_token_with_the_name_fetched_first(app, sim, crm_server, greeting):
    user_id, token = follow(sim, "山田 花子")
    assert friend_of(app, user_id).display_name is None  # the profile job has not run yet
    enrol_after_follow(app, greeting_id(app), user_id, token, fresh_for=timedelta(seconds=40))
    tick(app)
    [entry] = sim.inbox(user_id)
    assert entry["api"] == "reply"
    [text] = texts(sim, user_id)
    assert text.startswith("山田 花子さん、友だち追加ありがとうございます！") and text.endswith(GREETING_END)
    [send] = sends_of(app, greeting_id(app))
    assert (send.state, send.sent_via, send.request_id) == ("sent", "reply", None) and send.sent_at
    assert friend_of(app, user_id).display_name == "山田 花子"  # stored for later steps too
    log = [entry["path"] for entry in sim.requests_log()]
    assert log.index(next(p for p in log if p.startswith("/v2/bot/profile"))) < log.index("/v2/bot/message/reply")
    with session_scope(get_engine(app)) as session:
        assert session.execute(select(Enrolment.reply_token)).scalar() is None  # the token is used up
        assert session.execute(select(OutgoingReply.source)).scalar() == "scenario"
    tick(app)
    assert len(sim.inbox(user_id)) == 1


def test_a_stale_token_means_push_under_the_sends_retry_key(app, sim, crm_server, greeting):
    user_id, token = follow(sim, "佐藤 一郎")
    enrol_after_follow(app, greeting_id(app), user_id, token, fresh_for=-timedelta(seconds=1))
    tick(app)
    [entry] = sim.inbox(user_id)
    assert entry["api"] == "push" and entry["retryKey"]
    assert texts(sim, user_id)[0].startswith("佐藤 一郎さん、友だち追加ありがとうございます！")
    [send] = sends_of(app, greeting_id(app))
    assert (send.state, send.sent_via, send.reply_id) == ("sent", "push", None)
    assert sim.requests_log(path="/v2/bot/message/reply") == []


def test_a_refused_token_falls_back_to_push_through_the_reply_queue(app, sim, crm_server, greeting):
    sim.configure(replyTokenTtlSeconds=0)  # LINE says the token expired although we think it fresh
    user_id, token = follow(sim, "鈴木 次郎")
    enrol_after_follow(app, greeting_id(app), user_id, token, fresh_for=timedelta(seconds=40))
    tick(app)
    [entry] = sim.inbox(user_id)
    assert entry["api"] == "push"
    [send] = sends_of(app, greeting_id(app))
    assert (send.state, send.sent_via) == ("sent", "push") and send.reply_id is not None
    with session_scope(get_engine(app)) as session:
        assert entry["retryKey"] == session.get(OutgoingReply, send.reply_id).retry_key


def test_only_the_enrolments_first_send_uses_the_token(app, sim, crm_server):
    first, second = (
        make_template(app, [{"type": "text", "text": "一通目"}]),
        make_template(app, [{"type": "text", "text": "二通目"}]),
    )
    scenario_id = make_scenario(app, steps=[{"template_id": first}, {"template_id": second}])
    user_id, token = follow(sim, "高橋")
    enrol_after_follow(app, scenario_id, user_id, token, fresh_for=timedelta(seconds=40))
    assert len(sends_of(app, scenario_id)) == 2, "both steps immediate: due together"
    tick(app)
    assert [(entry["api"], entry["messages"][0]["text"]) for entry in sim.inbox(user_id)] == [
        ("reply", "一通目"),
        ("multicast", "二通目"),
    ]
    assert [s.sent_via for s in sends_of(app, scenario_id)] == ["reply", "multicast"]


def test_name_without_a_profile_from_line_is_rendered_anyway(app, sim, crm_server, greeting):
    user_id, token = follow(sim, "非公開", profile_consent=False)
    enrol_after_follow(app, greeting_id(app), user_id, token, fresh_for=timedelta(seconds=40))
    tick(app)
    [text] = texts(sim, user_id)
    assert "{name}" not in text and "非公開" not in text and "友だち追加ありがとうございます！" in text
    assert len(sim.requests_log(path="/v2/bot/profile")) == 1
    assert friend_of(app, user_id).display_name is None
    [send] = sends_of(app, greeting_id(app))
    assert (send.state, send.sent_via) == ("sent", "reply")


def test_a_stalling_profile_fetch_does_not_hold_the_greeting(make_app, sim, greeting):
    app = make_app(LINE_API_TIMEOUT_SECONDS=10.0)  # the client would wait; the step's own timeout does not
    server = LiveServer(handled_before_answering(app))
    sim.configure(webhookUrl=f"{server.url}/callback")
    try:
        user_id, token = follow(sim, "遅い")
        sim.set_fault("profile", kind="stall", count=1, stall_seconds=5)
        enrol_after_follow(app, greeting_id(app), user_id, token, fresh_for=timedelta(seconds=40))
        started = time.monotonic()
        tick(app)
        assert time.monotonic() - started < PROFILE_TIMEOUT + 1.5
    finally:
        server.stop()
    [entry] = sim.inbox(user_id)
    assert entry["api"] == "reply" and "遅い" not in entry["messages"][0]["text"]
