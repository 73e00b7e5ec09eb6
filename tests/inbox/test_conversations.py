"""The conversation list: newest message first, shared unread counts, filters, assignment (audited), permissions."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from crm.db import get_engine, session_scope
from crm.friends.models import Friend, Message
from crm.inbox.models import Conversation
from crm.staff.models import Staff
from crm.tags.models import FriendTag
from tests.console_helpers import post_form, signed_in_client
from tests.factories import make_friend, make_staff, make_tag
from tests.friends.test_page import audit_entries
from tests.inbox.helpers import add_message, listed

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def three_conversations(app) -> tuple[int, int, int]:
    """Friends a, b, c: a wrote first, c last; b wrote twice, then the account answered b."""
    a = make_friend(app, n=1, display_name="佐藤 花子")
    b = make_friend(app, n=2, display_name="鈴木 一郎")
    c = make_friend(app, n=3, display_name="高橋 健太")
    make_friend(app, n=4, display_name="No messages")
    add_message(app, a, "a1", at=T0)
    add_message(app, b, "b1", at=T0 + timedelta(minutes=1))
    add_message(app, b, "b2", at=T0 + timedelta(minutes=2))
    add_message(app, c, "c1", at=T0 + timedelta(minutes=3))
    add_message(app, b, "answer", at=T0 + timedelta(minutes=4), incoming=False, sent_via="console")
    return a, b, c


def test_conversations_are_ordered_by_latest_message_with_unread_counts(app):
    a, b, c = three_conversations(app)
    client = signed_in_client(app, "staff")
    assert listed(client.get("/chat").get_data(as_text=True)) == [(b, 2), (c, 1), (a, 1)]


def test_opening_a_conversation_reads_it_for_the_whole_team(app):
    a, b, c = three_conversations(app)
    first = signed_in_client(app, "staff", email="first@example.com")
    assert listed(first.get(f"/chat/{b}").get_data(as_text=True)) == [(b, 0), (c, 1), (a, 1)]
    second = signed_in_client(app, "admin", email="second@example.com")
    assert listed(second.get("/chat").get_data(as_text=True)) == [(b, 0), (c, 1), (a, 1)]
    add_message(app, b, "b3", at=T0 + timedelta(minutes=5))
    assert listed(second.get("/chat").get_data(as_text=True))[0] == (b, 1)


@pytest.mark.parametrize(
    "query, expected",
    [
        ("attention=needed", "a"),
        ("attention=done", "c"),
        ("unread=1", "ac"),
        ("mine=1", "c"),
        ("tag=TAG", "ab"),
        ("q=鈴木一郎", "b"),
        ("q=はなこ", ""),
        ("q=たかはし", "c"),  # c's reading (ふりがな)
        ("q=タカハシ ケン", "c"),
        ("q=花子&unread=1", "a"),
    ],
)
def test_filters(app, query, expected):
    a, b, c = three_conversations(app)
    ids = {"a": a, "b": b, "c": c}
    tag_id = make_tag(app, "VIP")
    client = signed_in_client(app, "staff", email="me@example.com")
    with session_scope(get_engine(app)) as session:
        me = session.exec(select(Staff.id).where(Staff.email == "me@example.com")).one()
        session.get(Friend, a).attention = "needed"
        session.get(Friend, c).attention = "done"
        session.get(Friend, c).reading = "たかはしけんた"
        session.add_all(
            [
                FriendTag(friend_id=a, tag_id=tag_id, added_by="test"),
                FriendTag(friend_id=b, tag_id=tag_id, added_by="test"),
            ]
        )
        session.add(Conversation(friend_id=c, assigned_staff_id=me))
        session.add(Conversation(friend_id=b, last_read_message_id=10**6))
    html = client.get("/chat?" + query.replace("TAG", str(tag_id))).get_data(as_text=True)
    assert [friend_id for friend_id, _ in listed(html)] == [ids[name] for name in sorted(expected, key="bca".index)]


def test_assignment_is_audited_and_shown(app):
    a, _b, _c = three_conversations(app)
    make_staff(app, "staff", email="hanako@example.com")
    make_staff(app, "analyst", email="analyst@example.com")
    with session_scope(get_engine(app)) as session:
        staff_ids = dict(session.exec(select(Staff.email, Staff.id)).all())
    client = signed_in_client(app, "admin", email="boss@example.com")
    page = f"/chat/{a}"
    response = post_form(client, f"/chat/{a}/assign", {"staff_id": staff_ids["hanako@example.com"]}, page)
    assert response.status_code == 302
    [entry] = audit_entries(app, "chat.assigned")
    assert (entry.target_id, json.loads(entry.before), json.loads(entry.after)) == (
        str(a),
        {"assigned_staff_id": None},
        {"assigned_staff_id": staff_ids["hanako@example.com"]},
    )
    assert "pill-assigned" in client.get("/chat").get_data(as_text=True)
    # Someone who may not reply cannot be given the conversation; the same staff member again changes nothing.
    refused = post_form(client, f"/chat/{a}/assign", {"staff_id": staff_ids["analyst@example.com"]}, page)
    assert refused.status_code == 400
    post_form(client, f"/chat/{a}/assign", {"staff_id": staff_ids["hanako@example.com"]}, page)
    post_form(client, f"/chat/{a}/assign", {"staff_id": 0}, page)
    assert [json.loads(e.after) for e in audit_entries(app, "chat.assigned")] == [
        {"assigned_staff_id": staff_ids["hanako@example.com"]},
        {"assigned_staff_id": None},
    ]


@pytest.mark.parametrize(
    "role, page, send", [("admin", 200, True), ("staff", 200, True), ("marketer", 200, False), ("analyst", 403, False)]
)
def test_permissions(app, role, page, send):
    a, _b, _c = three_conversations(app)
    client = signed_in_client(app, role)
    assert client.get("/chat").status_code == page
    assert client.get(f"/chat/{a}").status_code == page
    html = client.get("/").get_data(as_text=True)
    assert ('href="/chat"' in html) == (page == 200)
    if page == 200:
        assert ("data-reply-form" in client.get(f"/chat/{a}").get_data(as_text=True)) == send
    response = post_form(client, f"/chat/{a}/reply", {"text": "hi", "retry_key": "x"}, "/")
    assert (response.status_code == 403) == (not send)


def test_the_list_follows_new_messages_and_forgets_a_deleted_one(app):
    a, b, c = three_conversations(app)
    client = signed_in_client(app, "staff")
    assert [friend for friend, _ in listed(client.get("/chat").get_data(as_text=True))] == [b, c, a]
    newest = add_message(app, a, "取り消される返信", at=T0 + timedelta(minutes=9), incoming=False, sent_via="console")
    assert [friend for friend, _ in listed(client.get("/chat").get_data(as_text=True))] == [a, b, c]
    with session_scope(get_engine(app)) as session:  # LINE refused that reply: the chat forgets it
        session.delete(session.get(Message, newest))
    html = client.get("/chat").get_data(as_text=True)
    assert [friend for friend, _ in listed(html)] == [b, c, a] and "取り消される返信" not in html


def test_a_message_committed_after_a_higher_id_was_listed_still_moves_its_conversation(app):
    a, b, c = three_conversations(app)
    client = signed_in_client(app, "staff")
    client.get(f"/chat/{a}")  # a read: 0 unread
    assert listed(client.get("/chat").get_data(as_text=True)) == [(b, 2), (c, 1), (a, 0)]
    with session_scope(get_engine(app)) as session:
        newest = max(session.exec(select(Message.id)).all())
        held = session.get(Conversation, a)
        assert held.last_message_id < newest - 2
    # Ids below the newest one listed, as when their transactions commit late: a new incoming message of a (above
    # a's ids), and one of c between c's incoming id and the newest.
    add_message(app, a, "late", at=T0 + timedelta(minutes=6), id=newest + 20)
    add_message(app, c, "later", at=T0 + timedelta(minutes=7), id=newest + 30)
    add_message(app, b, "newest", at=T0 + timedelta(minutes=8), incoming=False, sent_via="console", id=newest + 40)
    assert listed(client.get("/chat").get_data(as_text=True)) == [(b, 2), (c, 2), (a, 1)]
    add_message(app, a, "very late", at=T0 + timedelta(minutes=9), id=newest + 10)  # below c's and b's
    assert listed(client.get("/chat").get_data(as_text=True)) == [(b, 2), (c, 2), (a, 2)]
    assert listed(client.get("/chat?unread=1").get_data(as_text=True)) == [(b, 2), (c, 2), (a, 2)]
