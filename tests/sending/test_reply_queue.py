"""The outgoing-reply queue: once per retry key, the reply token only while fresh, erased with the friend."""

import uuid
from datetime import timedelta

from sqlmodel import select

from crm.db import get_engine, session_scope
from crm.line.errors import LineApiError
from crm.privacy import service as privacy
from crm.sending import queue as reply_queue
from crm.sending.models import OutgoingReply, ReplyState
from crm.sending.replies import send_due
from crm.staff.audit import Actor
from crm.timeutil import utcnow
from tests.factories import make_friend

MESSAGES = [{"type": "text", "text": "(1/1) Q1"}]


class FakeLine:
    """Records calls; `fail_reply` makes the reply API answer that status."""

    def __init__(self, fail_reply: int | None = None):
        self.calls: list[tuple[str, str]] = []
        self.fail_reply = fail_reply

    def reply_messages(self, reply_token, messages):
        self.calls.append(("reply", reply_token))
        if self.fail_reply:
            raise LineApiError("refused", status=self.fail_reply)

    def push_messages(self, user_id, messages, *, retry_key):
        self.calls.append(("push", retry_key))
        return "request-id"


def queue(app, friend_id: int, *, key: str, occurred_at=None, token: str | None = "token-1") -> int | None:
    with session_scope(get_engine(app)) as session:
        return reply_queue.queue(
            session,
            friend_id=friend_id,
            line_user_id="U" + "1" * 32,
            messages=MESSAGES,
            reply_token=token,
            occurred_at=occurred_at or utcnow(),
            retry_key=key,
            source="test",
        )


def rows(app) -> list[OutgoingReply]:
    with session_scope(get_engine(app)) as session:
        return list(session.exec(select(OutgoingReply)))


def test_a_redelivered_event_queues_nothing_twice(app):
    friend_id, key = make_friend(app), str(uuid.uuid4())
    assert queue(app, friend_id, key=key) is not None
    assert queue(app, friend_id, key=key) is None
    assert len(rows(app)) == 1


def test_a_fresh_token_replies_and_an_expired_one_is_never_tried(app):
    friend_id = make_friend(app)
    queue(app, friend_id, key=str(uuid.uuid4()))
    queue(app, friend_id, key=str(uuid.uuid4()), occurred_at=utcnow() - timedelta(minutes=2))
    line = FakeLine()
    assert send_due(get_engine(app), line) == 2
    [late] = [row for row in rows(app) if row.sent_via == "push"]
    assert line.calls == [("reply", "token-1"), ("push", late.retry_key)]
    assert {row.state for row in rows(app)} == {ReplyState.SENT}


def test_a_failed_reply_token_falls_back_to_a_push_at_once(app):
    queue(app, make_friend(app), key=str(uuid.uuid4()))
    line = FakeLine(fail_reply=500)
    assert send_due(get_engine(app), line) == 1
    [row] = rows(app)
    assert line.calls == [("reply", "token-1"), ("push", row.retry_key)]
    assert (row.state, row.sent_via, row.attempts) == (ReplyState.SENT, "push", 1)


def test_erasing_a_friend_drops_their_replies(app):
    friend_id = make_friend(app)
    queue(app, friend_id, key=str(uuid.uuid4()), token=None)
    with session_scope(get_engine(app)) as session:
        privacy.erase_friend(session, friend_id=friend_id, actor=Actor.system("test"))
    assert rows(app) == []


class TimingOutLine(FakeLine):
    """The reply API times out once, then says the token was used (LINE took the first call)."""

    def reply_messages(self, reply_token, messages):
        self.calls.append(("reply", reply_token))
        if len(self.calls) == 1:
            raise LineApiError("LINE API unreachable: ReadTimeoutError")
        raise LineApiError("Invalid reply token", status=400)


def test_a_timed_out_reply_whose_token_was_used_counts_as_sent(app):
    queue(app, make_friend(app), key=str(uuid.uuid4()))
    line = TimingOutLine()
    assert send_due(get_engine(app), line) == 1
    assert line.calls == [("reply", "token-1"), ("reply", "token-1")]
    [row] = rows(app)
    assert (row.state, row.sent_via) == (ReplyState.SENT, "reply")
