"""Survey replies leave after the webhook has answered LINE, and reach the friend whatever LINE's reply API does."""

from datetime import timedelta

import pytest
from sqlmodel import select

from crm.db import get_engine, session_scope
from crm.line.runtime import CLIENT_KEY, line_client
from crm.sending.models import OutgoingReply, ReplyState
from crm.sending.replies import send_due
from crm.timeutil import utcnow
from surveys.chat_messages import start_data
from tests.console_helpers import signed_in_client
from tests.surveys.helpers import bot_messages, build_survey, english_friend, replies_settled, single

REPLY = "/v2/bot/message/reply"
PUSH = "/v2/bot/message/push"


@pytest.fixture
def line(sim, crm_server):
    return sim


class RecordingClient:
    """The app's LINE client, noting in `order` when each reply call has returned."""

    def __init__(self, app, order: list[str]):
        self._real, self._order = line_client(app), order
        app.extensions[CLIENT_KEY] = self

    def __getattr__(self, name):
        return getattr(self._real, name)

    def reply_messages(self, reply_token, messages):
        try:
            return self._real.reply_messages(reply_token, messages)
        finally:
            self._order.append("reply returned")


def stored_replies(app) -> list[OutgoingReply]:
    with session_scope(get_engine(app)) as session:
        return list(session.exec(select(OutgoingReply).order_by(OutgoingReply.id)))


def test_the_webhook_answers_before_a_stalled_reply_goes_out(app, line):
    survey_id = build_survey(app, single("Q1", "Yes", "No"))
    user, _friend = english_friend(line, app)
    order: list[str] = []
    RecordingClient(app, order)
    line.set_fault(REPLY, kind="stall", stall_seconds=1.5)
    assert line.postback(user, start_data(survey_id))["status"] == 200
    order.append("webhook answered")
    replies_settled()
    assert order == ["webhook answered", "reply returned"]
    [entry] = line.inbox(user)
    assert entry["api"] == "reply" and entry["messages"][0]["text"].startswith("(1/1) Q1")
    [reply] = stored_replies(app)
    assert (reply.state, reply.sent_via, reply.reply_token) == (ReplyState.SENT, "reply", None)


def test_when_the_reply_fails_the_question_arrives_by_push(app, line):
    survey_id = build_survey(app, single("Q1", "Yes", "No"))
    user, _friend = english_friend(line, app)
    line.set_fault(REPLY, status=500)
    assert line.postback(user, start_data(survey_id))["status"] == 200
    [question] = bot_messages(line, user)
    assert question["text"].startswith("(1/1) Q1")
    [entry] = line.inbox(user)
    [reply] = stored_replies(app)
    assert entry["api"] == "push" and entry["retryKey"] == reply.retry_key
    assert (reply.state, reply.sent_via) == (ReplyState.SENT, "push")


def test_a_push_that_fails_too_is_retried_by_the_worker_with_the_same_key(app, line):
    survey_id = build_survey(app, single("Q1", "Yes", "No"))
    user, _friend = english_friend(line, app)
    line.set_fault(REPLY, status=500)
    line.set_fault(PUSH, status=503)
    line.postback(user, start_data(survey_id))
    assert bot_messages(line, user) == []
    [waiting] = stored_replies(app)
    assert (waiting.state, waiting.attempts, waiting.last_error[:3]) == (ReplyState.PENDING, 1, "503")
    engine = get_engine(app)
    assert waiting.next_attempt_at - waiting.created_at >= timedelta(seconds=5)  # backoff before the retry
    assert send_due(engine, line_client(app), now=waiting.next_attempt_at - timedelta(seconds=1)) == 0
    assert send_due(engine, line_client(app), now=waiting.next_attempt_at) == 1
    [question] = bot_messages(line, user)
    assert question["text"].startswith("(1/1) Q1")
    pushes = line.requests_log(path=PUSH)
    assert [p["status"] for p in pushes] == [503, 200]
    assert [entry["retryKey"] for entry in line.inbox(user)] == [waiting.retry_key]
    assert len(line.requests_log(path=REPLY)) == 1  # the reply token is tried once only


def test_a_push_line_refuses_is_marked_failed_with_its_reason(app, line):
    survey_id = build_survey(app, single("Q1", "Yes", "No"))
    user, friend = english_friend(line, app)
    line.set_fault(REPLY, status=500)
    line.set_fault(PUSH, status=400)
    line.postback(user, start_data(survey_id))
    assert bot_messages(line, user) == []
    [reply] = stored_replies(app)
    assert reply.state == ReplyState.FAILED and reply.last_error.startswith("400")
    assert send_due(get_engine(app), line_client(app), now=utcnow() + timedelta(hours=1)) == 0
    page = signed_in_client(app, "staff", locale="en").get(f"/friends/{friend}").get_data(as_text=True)
    assert "Replies LINE refused" in page and "(1/1) Q1" in page and "400: " in page


def test_a_reply_that_times_out_but_reached_line_is_not_pushed_again(app, line):
    survey_id = build_survey(app, single("Q1", "Yes", "No"))
    user, _friend = english_friend(line, app)
    line.set_fault(REPLY, kind="stall", stall_seconds=2.5)  # LINE takes it, answers after our 2 s timeout
    assert line.postback(user, start_data(survey_id))["status"] == 200
    [question] = bot_messages(line, user)
    assert question["text"].startswith("(1/1) Q1")
    assert [entry["api"] for entry in line.inbox(user)] == ["reply"]
    assert [r["status"] for r in line.requests_log(path=REPLY)][-1] == 400  # the retry finds the token used
    assert line.requests_log(path=PUSH) == []
    [reply] = stored_replies(app)
    assert (reply.state, reply.sent_via) == (ReplyState.SENT, "reply")
