"""The friend page: profile, escaping, masking, tags, the conversation, quota and permissions."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from crm.db import get_engine, session_scope
from crm.friends.models import FriendStatus, Message, MessageDirection, Note
from crm.staff.models import AuditEntry
from crm.tags.models import FriendTag, Tag
from tests.console_helpers import post_form, signed_in_client
from tests.factories import make_friend, make_tag

XSS = "<script>alert(1)</script>"
ALL_ROLES = ("admin", "marketer", "editor", "staff", "analyst")


def add_message(app, friend_id: int, direction: str, text: str | None, at: datetime, **values) -> None:
    """Store a message of the friend's conversation."""
    with session_scope(get_engine(app)) as session:
        session.add(
            Message(
                friend_id=friend_id,
                direction=direction,
                message_type=values.pop("type", "text"),
                text=text,
                created_at=at,
                **values,
            )
        )


def audit_entries(app, action: str) -> list[AuditEntry]:
    """Audit entries with this action, oldest first."""
    with session_scope(get_engine(app)) as session:
        return list(session.exec(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


def page(client, friend_id: int) -> str:
    response = client.get(f"/friends/{friend_id}")
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def test_profile_shows_times_in_tokyo_and_counts(app):
    at = datetime(2024, 1, 1, 15, 30, tzinfo=UTC)
    friend_id = make_friend(
        app,
        language="ja",
        picture_url="https://profile.example/p.png",
        follow_count=3,
        first_followed_at=at,
        last_followed_at=at + timedelta(days=2),
        last_interaction_at=at + timedelta(days=3),
        status_message="hello there",
    )
    html = page(signed_in_client(app, "staff", locale="en"), friend_id)
    assert "Sakura" in html
    assert "2024/01/02 00:30" in html  # 15:30 UTC is 00:30 the next day in Tokyo
    assert "2024/01/05 00:30" in html
    assert "data-follow-count>3<" in html
    assert 'src="https://profile.example/p.png"' in html
    assert "hello there" in html
    for section in (
        'id="tags"',
        'id="notes"',
        'id="fields"',
        'id="chat"',
        'id="answers"',
        'id="clicks"',
        'id="broadcasts"',
    ):
        assert section in html
    assert "No survey answers yet." in html


def test_picture_with_a_non_web_scheme_is_not_shown(app):
    friend_id = make_friend(app, picture_url="javascript:alert(1)")
    assert "javascript:" not in page(signed_in_client(app, "staff"), friend_id)


@pytest.mark.db_agnostic  # escaping in the rendered page
def test_friend_name_and_message_text_are_escaped(app):
    friend_id = make_friend(app, display_name=XSS, status_message=XSS)
    add_message(app, friend_id, MessageDirection.INCOMING, XSS, datetime.now(UTC))
    html = page(signed_in_client(app, "staff"), friend_id)
    assert XSS not in html
    assert html.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 3


def test_conversation_in_order_with_unsent_and_other_types(app):
    start = datetime(2024, 5, 1, 0, 0, tzinfo=UTC)
    friend_id = make_friend(app)
    add_message(app, friend_id, MessageDirection.OUTGOING, "third", start + timedelta(minutes=2), sent_via="console")
    add_message(app, friend_id, MessageDirection.INCOMING, "first", start)
    add_message(
        app, friend_id, MessageDirection.INCOMING, None, start + timedelta(minutes=1), unsent=True, line_message_id="m2"
    )
    add_message(app, friend_id, MessageDirection.INCOMING, None, start + timedelta(minutes=3), type="sticker")
    html = page(signed_in_client(app, "staff", locale="en"), friend_id)
    first, unsent, third = html.index(">first<"), html.index('class="msg-unsent"'), html.index(">third<")
    assert first < unsent < third < html.index("[sticker]")
    assert "2024/05/01 09:00" in html and "2024/05/01 09:02" in html
    assert ">unsent<" in html
    assert 'class="msg msg-out"' in html and 'class="msg msg-in"' in html


def test_analyst_sees_masked_page(app):
    friend_id = make_friend(
        app, display_name="Sakura Tanaka", picture_url="https://profile.example/p.png", status_message="my status"
    )
    add_message(app, friend_id, MessageDirection.INCOMING, "secret chat text", datetime.now(UTC))
    with session_scope(get_engine(app)) as session:
        session.add(Note(friend_id=friend_id, body="secret note text"))
    html = page(signed_in_client(app, "analyst", locale="en"), friend_id)
    assert "S＊＊" in html
    for hidden in ("Sakura Tanaka", "profile.example", "my status", "secret chat text", "secret note text"):
        assert hidden not in html
    assert "(note text hidden)" in html and "(message text hidden)" in html
    assert f'action="/friends/{friend_id}/reply"' not in html
    assert 'name="retry_key"' not in html


def test_staff_sees_reply_box_note_form_and_tag_form(app):
    make_tag(app, "VIP")
    friend_id = make_friend(app)
    html = page(signed_in_client(app, "staff"), friend_id)
    assert f'action="/friends/{friend_id}/reply"' in html
    assert f'action="/friends/{friend_id}/notes"' in html
    assert f'action="/friends/{friend_id}/tags"' in html


@pytest.mark.parametrize(
    "role,status", [("admin", 200), ("marketer", 200), ("staff", 200), ("analyst", 200), ("editor", 403)]
)
def test_who_may_open_the_page(app, role, status):
    friend_id = make_friend(app)
    assert signed_in_client(app, role).get(f"/friends/{friend_id}").status_code == status


def test_page_needs_sign_in_and_an_existing_friend(app, client):
    friend_id = make_friend(app)
    assert client.get(f"/friends/{friend_id}").status_code == 302
    assert signed_in_client(app, "staff").get("/friends/999999").status_code == 404


def test_add_and_remove_tag_with_audit(app):
    tag_id = make_tag(app, "VIP", folder="Rank")
    other_id = make_tag(app, "<b>bold</b>")
    friend_id = make_friend(app)
    client = signed_in_client(app, "staff")
    html = page(client, friend_id)
    assert '<optgroup label="Rank">' in html and "&lt;b&gt;bold&lt;/b&gt;" in html
    response = post_form(client, f"/friends/{friend_id}/tags", {"tag_id": tag_id})
    assert response.status_code == 302
    with session_scope(get_engine(app)) as session:
        assert session.get(FriendTag, (friend_id, tag_id)).added_by == "staff:staff@example.com"
        assert session.get(Tag, tag_id).friend_count == 1
    html = page(client, friend_id)
    assert f"/friends/{friend_id}/tags/{tag_id}/remove" in html
    assert f'<option value="{tag_id}"' not in html and f'<option value="{other_id}"' in html
    assert post_form(client, f"/friends/{friend_id}/tags/{tag_id}/remove", {}).status_code == 302
    with session_scope(get_engine(app)) as session:
        assert session.get(FriendTag, (friend_id, tag_id)) is None
        assert session.get(Tag, tag_id).friend_count == 0
    assert [e.target_id for e in audit_entries(app, "friend.tag_added")] == [str(friend_id)]
    assert [e.before for e in audit_entries(app, "friend.tag_removed")] == [f'{{"tag_id": {tag_id}}}']


def test_adding_a_tag_the_friend_has_or_an_unknown_tag_is_refused(app):
    tag_id = make_tag(app, "VIP")
    friend_id = make_friend(app)
    client = signed_in_client(app, "staff", locale="en")
    assert post_form(client, f"/friends/{friend_id}/tags", {"tag_id": tag_id}).status_code == 302
    again = post_form(client, f"/friends/{friend_id}/tags", {"tag_id": tag_id})
    assert again.status_code == 400 and "Choose a tag from the list." in again.get_data(as_text=True)
    assert post_form(client, f"/friends/{friend_id}/tags", {"tag_id": 424242}).status_code == 400
    assert len(audit_entries(app, "friend.tag_added")) == 1


@pytest.mark.db_agnostic  # the CSRF check refuses the form before the view runs
def test_tag_form_without_csrf_token_is_rejected(app):
    tag_id = make_tag(app, "VIP")
    friend_id = make_friend(app)
    client = signed_in_client(app, "staff")
    assert client.post(f"/friends/{friend_id}/tags", data={"tag_id": tag_id}).status_code == 400
    assert audit_entries(app, "friend.tag_added") == []


POST_ROUTES = {  # path template -> permission that allows it
    "/friends/{f}/tags": "friends.edit",
    "/friends/{f}/tags/{t}/remove": "friends.edit",
    "/friends/{f}/notes": "notes.write",
    "/friends/{f}/fields": "fields.set",
    "/friends/{f}/tags/new": "friends.edit",
    "/friends/{f}/reply": "chat.send",
}


@pytest.mark.parametrize("role", ["marketer", "editor", "analyst"])
@pytest.mark.parametrize("path", list(POST_ROUTES))
@pytest.mark.db_agnostic  # a permission check: the guard refuses before the view runs
def test_roles_without_the_permission_are_refused(app, role, path):
    from crm.permissions import can

    assert not can(role, POST_ROUTES[path])
    friend_id, tag_id = make_friend(app), make_tag(app, "VIP")
    client = signed_in_client(app, role)
    response = post_form(
        client, path.format(f=friend_id, t=tag_id), {"tag_id": tag_id, "body": "x", "value": "x", "text": "x"}
    )
    assert response.status_code == 403
    with session_scope(get_engine(app)) as session:
        assert session.exec(select(AuditEntry).where(AuditEntry.action != "staff.signed_in")).first() is None


def test_blocked_friend_shows_notice_instead_of_reply_box(app):
    friend_id = make_friend(app, status=FriendStatus.BLOCKED, blocked_at=datetime(2024, 3, 1, tzinfo=UTC))
    html = page(signed_in_client(app, "staff", locale="en"), friend_id)
    assert "This friend has blocked the account, so messages cannot be sent." in html
    assert 'name="retry_key"' not in html
    assert "2024/03/01 09:00" in html


@pytest.mark.parametrize(
    "limit,used,level", [(100, 50, "ok"), (100, 91, "low"), (100, 100, "exhausted"), (None, 7, "ok")]
)
def test_quota_state_near_the_reply_box(app, sim, limit, used, level):
    sim.set_quota(limit, total_usage=used)
    friend_id = make_friend(app)
    html = page(signed_in_client(app, "staff", locale="en"), friend_id)
    assert f'data-quota="{level}"' in html
    if level == "low":
        assert "Less than a tenth of this month" in html
    if level == "exhausted":
        assert "The monthly limit is used up" in html
    if limit is None:
        assert "(no monthly limit)" in html


def test_quota_is_cached_for_a_minute(app, sim):
    sim.set_quota(100, total_usage=10)
    friend_id = make_friend(app)
    client = signed_in_client(app, "staff")
    assert 'data-quota="ok"' in page(client, friend_id)
    sim.set_quota(100, total_usage=100)
    assert 'data-quota="ok"' in page(client, friend_id)
    assert len(sim.requests_log(path="/v2/bot/message/quota/consumption")) == 1


@pytest.mark.parametrize("kind", ["error", "stall"])
def test_page_renders_when_quota_call_fails_or_stalls(app, sim, kind):
    sim.set_fault("quota", kind=kind, count=None, stall_seconds=5 if kind == "stall" else 0)
    friend_id = make_friend(app)
    client = signed_in_client(app, "staff", locale="en")
    html = page(client, friend_id)
    # A stalled quota call answers successfully 5 s late: "unknown" proves the page stopped waiting before
    # the answer came (no wall-clock assertion, which fails on a loaded machine).
    assert 'data-quota="unknown"' in html and "could not be read" in html
    assert 'name="retry_key"' in html


@pytest.mark.parametrize(("role", "linked"), [("staff", True), ("marketer", True), ("analyst", False)])
def test_the_conversation_opens_in_the_chat_inbox_for_those_who_may_chat(app, role, linked):
    friend_id = make_friend(app, display_name="佐藤 花子")
    html = page(signed_in_client(app, role), friend_id)
    assert (f'id="open-chat" href="/chat/{friend_id}"' in html) is linked
