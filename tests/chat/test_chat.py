"""1:1 replies from the friend page through the real LINE simulator: delivery once, errors, refusals."""

import json
import re
import threading
import time

import pytest
from sqlmodel import select

from crm.chat import service as chat
from crm.db import get_engine, session_scope
from crm.friends.models import Friend, Message, MessageDirection
from tests.console_helpers import csrf_token, signed_in_client
from tests.factories import friend_id_of
from tests.friends.test_page import audit_entries
from tests.line_probe import FollowDuringLineCalls

RETRY_KEY_INPUT = re.compile(r'name="retry_key"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="retry_key"')
TEXTAREA = re.compile(r'<textarea[^>]*name="text"[^>]*>\r?\n?(.*?)</textarea>', re.S)


def followed_friend(sim, app) -> tuple[str, int]:
    """A simulated user who follows the account; the CRM stores them through the real webhook."""
    user_id = sim.create_user("Hanako")
    assert sim.follow(user_id)["status"] == 200
    return user_id, friend_id_of(app, user_id)


@pytest.fixture
def line(sim, crm_server):
    """The simulator client, posting its webhooks to the CRM served over HTTP."""
    return sim


def reply_form(client, friend_id: int) -> dict:
    """The reply form's hidden fields as the page renders them."""
    html = client.get(f"/friends/{friend_id}").get_data(as_text=True)
    match = RETRY_KEY_INPUT.search(html)
    assert match, "no reply form"
    return {"csrf_token": csrf_token(client, f"/friends/{friend_id}"), "retry_key": match.group(1) or match.group(2)}


def texts_received(sim, user_id: str) -> list[str]:
    return [m["text"] for entry in sim.inbox(user_id) for m in entry["messages"]]


def outgoing(app, friend_id: int) -> list[Message]:
    with session_scope(get_engine(app)) as session:
        return list(
            session.exec(
                select(Message).where(Message.friend_id == friend_id, Message.direction == MessageDirection.OUTGOING)
            )
        )


def test_reply_arrives_in_the_simulator_and_is_stored(app, line):
    user_id, friend_id = followed_friend(line, app)
    client = signed_in_client(app, "staff", locale="en")
    form = reply_form(client, friend_id)
    response = client.post(f"/friends/{friend_id}/reply", data={**form, "text": "Thanks!\r\nSee you 😀"})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/friends/{friend_id}#chat")
    assert texts_received(line, user_id) == ["Thanks!\nSee you 😀"]
    assert line.inbox(user_id)[0]["retryKey"] == form["retry_key"]
    [message] = outgoing(app, friend_id)
    assert (message.text, message.sent_via, message.message_type) == ("Thanks!\nSee you 😀", "console", "text")
    html = client.get(f"/friends/{friend_id}").get_data(as_text=True)
    assert "Message sent." in html and "Thanks!\nSee you 😀" in html
    [entry] = audit_entries(app, "chat.sent")
    assert "Thanks" not in entry.after
    assert json.loads(entry.after) == {"message_id": message.id, "retry_key": form["retry_key"], "length": 18}


def test_a_resent_form_delivers_once(app, line):
    user_id, friend_id = followed_friend(line, app)
    client = signed_in_client(app, "staff", locale="en")
    form = {**reply_form(client, friend_id), "text": "only once"}
    assert client.post(f"/friends/{friend_id}/reply", data=form).status_code == 302
    again = client.post(f"/friends/{friend_id}/reply", data=form, follow_redirects=True)
    assert "This message had already been sent." in again.get_data(as_text=True)
    assert texts_received(line, user_id) == ["only once"]
    assert len(outgoing(app, friend_id)) == 1
    assert len(line.requests_log(path="/v2/bot/message/push")) == 1


def test_each_page_load_gives_a_new_retry_key(app, line):
    _user_id, friend_id = followed_friend(line, app)
    client = signed_in_client(app, "staff")
    assert reply_form(client, friend_id)["retry_key"] != reply_form(client, friend_id)["retry_key"]


def test_line_error_keeps_the_text_and_a_retry_delivers_once(app, line):
    user_id, friend_id = followed_friend(line, app)
    client = signed_in_client(app, "staff", locale="en")
    form = {**reply_form(client, friend_id), "text": "Your order <#12> is ready"}
    line.set_fault("push", kind="error", status=500)
    failed = client.post(f"/friends/{friend_id}/reply", data=form)
    assert failed.status_code == 502
    html = failed.get_data(as_text=True)
    assert "LINE had a temporary problem (HTTP 500)" in html
    assert TEXTAREA.search(html).group(1) == "Your order &lt;#12&gt; is ready"
    assert RETRY_KEY_INPUT.search(html).group(1) == form["retry_key"]
    assert texts_received(line, user_id) == [] and outgoing(app, friend_id) == []
    assert client.post(f"/friends/{friend_id}/reply", data=form).status_code == 302
    assert texts_received(line, user_id) == ["Your order <#12> is ready"]
    assert len(outgoing(app, friend_id)) == 1


def test_stalled_line_times_out_and_the_retry_is_not_delivered_twice(app, line):
    user_id, friend_id = followed_friend(line, app)
    client = signed_in_client(app, "staff", locale="en")
    form = {**reply_form(client, friend_id), "text": "stalled hello"}
    line.set_fault("push", kind="stall", stall_seconds=3.5)  # LINE accepts, answers after our 2 s timeout
    started = time.monotonic()
    failed = client.post(f"/friends/{friend_id}/reply", data=form)
    assert time.monotonic() - started < 3.4
    assert failed.status_code == 502
    html = failed.get_data(as_text=True)
    assert "LINE did not answer in time" in html and "stalled hello" in html
    assert outgoing(app, friend_id) == []
    assert client.post(f"/friends/{friend_id}/reply", data=form).status_code == 302
    assert texts_received(line, user_id) == ["stalled hello"]
    assert [m.text for m in outgoing(app, friend_id)] == ["stalled hello"]
    assert [r["status"] for r in line.requests_log(path="/v2/bot/message/push")] == [200, 409]


def test_blocked_friend_is_refused(app, line):
    user_id, friend_id = followed_friend(line, app)
    client = signed_in_client(app, "staff", locale="en")
    form = {**reply_form(client, friend_id), "text": "are you there?"}
    line.unfollow(user_id)
    response = client.post(f"/friends/{friend_id}/reply", data=form)
    assert response.status_code == 400
    assert "This friend has blocked the account, so messages cannot be sent." in response.get_data(as_text=True)
    assert line.requests_log(path="/v2/bot/message/push") == []
    assert audit_entries(app, "chat.sent") == []


def test_text_limit_counts_utf16_units(app, line):
    user_id, friend_id = followed_friend(line, app)
    client = signed_in_client(app, "staff", locale="en")
    too_long = {**reply_form(client, friend_id), "text": "😀" * 2500 + "a"}
    response = client.post(f"/friends/{friend_id}/reply", data=too_long)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "A message can have at most 5000 characters (now 5001)." in html and "😀" * 2500 + "a" in html
    exact = {**reply_form(client, friend_id), "text": "😀" * 2500}
    assert client.post(f"/friends/{friend_id}/reply", data=exact).status_code == 302
    assert texts_received(line, user_id) == ["😀" * 2500]


@pytest.mark.parametrize(
    "text,key,message", [("   ", None, "Write a message first."), ("hi", "not-a-uuid", "The form has expired.")]
)
def test_empty_text_or_bad_retry_key_is_refused(app, line, text, key, message):
    user_id, friend_id = followed_friend(line, app)
    client = signed_in_client(app, "staff", locale="en")
    form = reply_form(client, friend_id)
    response = client.post(
        f"/friends/{friend_id}/reply", data={**form, "text": text, "retry_key": key or form["retry_key"]}
    )
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    fresh = RETRY_KEY_INPUT.search(response.get_data(as_text=True)).group(1)
    assert fresh == chat.check_retry_key(fresh)
    assert texts_received(line, user_id) == []


@pytest.mark.parametrize("role", ["marketer", "analyst", "editor"])
@pytest.mark.db_agnostic  # a permission check: the guard refuses before the view runs
def test_roles_without_chat_send_cannot_reply(app, line, role):
    user_id, friend_id = followed_friend(line, app)
    client = signed_in_client(app, role)
    data = {"csrf_token": csrf_token(client, "/"), "text": "hi", "retry_key": chat.new_retry_key()}
    assert client.post(f"/friends/{friend_id}/reply", data=data).status_code == 403
    assert texts_received(line, user_id) == []


def test_utf16_length_and_quota_levels():
    assert chat.utf16_length("a😀あ") == 4

    class Quota:
        def __init__(self, limit, used):
            self.limited, self.limit, self.used = limit is not None, limit, used
            self.remaining = None if limit is None else max(limit - used, 0)

    assert [chat.quota_state(Quota(*q)).level for q in [(1000, 900), (1000, 901), (1000, 1000), (None, 5)]] == [
        "ok",
        "low",
        "exhausted",
        "ok",
    ]


def test_quota_cache_refreshes_after_ttl_and_survives_failures():
    now, calls = [0.0], []

    def fetch():
        calls.append(now[0])
        raise OSError("down")

    cache = chat.QuotaCache(fetch, ttl=60, clock=lambda: now[0])
    assert cache.get().level == "unknown" and cache.get().level == "unknown"
    now[0] = 61
    cache.get()
    assert calls == [0.0, 61]


def test_slow_quota_fetch_does_not_hold_the_page_and_fills_the_cache_later():
    release, fetched = threading.Event(), threading.Event()

    class Quota:
        limited, limit, used, remaining = True, 100, 95, 5

    def fetch():
        release.wait(5)
        fetched.set()
        return Quota()

    cache = chat.QuotaCache(fetch, ttl=60, wait=0.05)
    assert cache.get().level == "unknown"
    release.set()
    assert fetched.wait(5)
    deadline = time.monotonic() + 5
    while cache.get().level == "unknown" and time.monotonic() < deadline:
        time.sleep(0.01)
    assert cache.get().level == "low"


class CountingPusher:
    """Stands in for the LINE client in service-level tests: counts pushes."""

    def __init__(self):
        self.pushes = []

    def push_text(self, user_id, text, *, retry_key):
        self.pushes.append((user_id, text, retry_key))


def stored_friend(app, user_id: str) -> int:
    with session_scope(get_engine(app)) as session:
        friend = Friend(line_user_id=user_id, display_name=user_id)
        session.add(friend)
        session.flush()
        return friend.id


def claim_and_push(session, pusher, *, friend_id: int, key: str, text: str) -> chat.SendResult:
    """The view's steps without the view: claim, push what is not a duplicate."""
    friend = session.get(Friend, friend_id)
    result = chat.claim_send(session, friend=friend, text=text, retry_key=key)
    if not result.duplicate:
        chat.push_claimed(pusher, line_user_id=friend.line_user_id, message=result.message)
    return result


def test_a_retry_key_stored_by_a_racing_request_is_reported_as_duplicate(app):
    friend_id, pusher, key = stored_friend(app, "U" + "1" * 32), CountingPusher(), chat.new_retry_key()
    with session_scope(get_engine(app)) as first, session_scope(get_engine(app)) as second:
        sent = claim_and_push(first, pusher, friend_id=friend_id, key=key, text="hello")
        assert sent.duplicate is False
        first.commit()
        again = claim_and_push(second, pusher, friend_id=friend_id, key=key, text="hello")
        assert again.duplicate is True and again.message.id == sent.message.id
    assert len(pusher.pushes) == 1 and len(outgoing(app, friend_id)) == 1


def test_a_retry_key_of_another_friend_is_refused_without_sending(app):
    first_id, other_id = stored_friend(app, "U" + "2" * 32), stored_friend(app, "U" + "3" * 32)
    pusher, key = CountingPusher(), chat.new_retry_key()
    with session_scope(get_engine(app)) as session:
        claim_and_push(session, pusher, friend_id=first_id, key=key, text="hi")
    with session_scope(get_engine(app)) as session, pytest.raises(chat.ChatError):
        claim_and_push(session, pusher, friend_id=other_id, key=key, text="hi")
    assert len(pusher.pushes) == 1 and outgoing(app, other_id) == []


def test_a_follow_is_stored_while_line_answers_a_staff_reply_slowly(app, line):
    user_id, friend_id = followed_friend(line, app)
    client = signed_in_client(app, "staff", locale="en")
    form = {**reply_form(client, friend_id), "text": "one moment"}
    probe = FollowDuringLineCalls(app, line).install()
    assert client.post(f"/friends/{friend_id}/reply", data=form).status_code == 302
    assert probe.statuses == [200] and probe.stored == [True]
    assert texts_received(line, user_id) == ["one moment"]
    [entry] = audit_entries(app, "chat.sent")
    assert json.loads(entry.after)["retry_key"] == form["retry_key"]
