"""Notes on the friend page: create, edit and delete own notes; admins any; audited with before/after."""

import json

import pytest
from sqlmodel import select

from crm.db import get_engine, session_scope
from crm.friends import notes
from crm.friends.models import Note
from crm.staff.audit import Actor
from crm.staff.models import Staff
from tests.console_helpers import post_form, signed_in_client
from tests.factories import make_friend
from tests.friends.test_page import audit_entries, page


def note_bodies(app, friend_id: int) -> list[str]:
    with session_scope(get_engine(app)) as session:
        return list(session.exec(select(Note.body).where(Note.friend_id == friend_id).order_by(Note.id)))


def note_of(app, friend_id: int, email: str, body: str) -> int:
    """Store a note written by the staff member with this email."""
    with session_scope(get_engine(app)) as session:
        staff = session.exec(select(Staff).where(Staff.email == email)).one()
        return notes.create_note(session, friend_id=friend_id, body=body, actor=Actor.staff(staff.id, staff.email)).id


def test_staff_writes_a_note_shown_with_author_and_time(app):
    friend_id = make_friend(app)
    client = signed_in_client(app, "staff")
    response = post_form(client, f"/friends/{friend_id}/notes", {"body": "  Likes <b>green</b> tea\r\nVisits Fridays "})
    assert response.status_code == 302
    assert note_bodies(app, friend_id) == ["Likes <b>green</b> tea\nVisits Fridays"]
    html = page(client, friend_id)
    assert "Likes &lt;b&gt;green&lt;/b&gt; tea\nVisits Fridays" in html
    assert "Staff · <time>" in html
    [entry] = audit_entries(app, "note.created")
    assert entry.target_id == str(friend_id) and json.loads(entry.after)["body"].startswith("Likes")


@pytest.mark.parametrize(
    "body,message",
    [("   ", "Write something in the note."), ("x" * 5001, "A note can have at most 5000 characters (now 5001).")],
)
@pytest.mark.db_agnostic  # form validation: nothing is written
def test_empty_or_overlong_note_is_refused_and_kept(app, body, message):
    friend_id = make_friend(app)
    client = signed_in_client(app, "staff", locale="en")
    response = post_form(client, f"/friends/{friend_id}/notes", {"body": body})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert message in html
    assert note_bodies(app, friend_id) == []
    if body.strip():
        assert body in html


def test_author_edits_and_deletes_own_note_with_audit(app):
    friend_id = make_friend(app)
    client = signed_in_client(app, "staff")
    note_id = note_of(app, friend_id, "staff@example.com", "first text")
    assert f"/notes/{note_id}/edit" in page(client, friend_id)
    assert post_form(client, f"/friends/{friend_id}/notes/{note_id}/edit", {"body": "second text"}).status_code == 302
    assert note_bodies(app, friend_id) == ["second text"]
    [edited] = audit_entries(app, "note.edited")
    assert json.loads(edited.before)["body"] == "first text" and json.loads(edited.after)["body"] == "second text"
    with session_scope(get_engine(app)) as session:
        assert session.get(Note, note_id).updated_at is not None
    assert post_form(client, f"/friends/{friend_id}/notes/{note_id}/delete", {}).status_code == 302
    assert note_bodies(app, friend_id) == []
    [deleted] = audit_entries(app, "note.deleted")
    assert json.loads(deleted.before)["body"] == "second text"


def test_staff_cannot_change_another_staff_members_note(app):
    friend_id = make_friend(app)
    signed_in_client(app, "staff", email="author@example.com")
    note_id = note_of(app, friend_id, "author@example.com", "theirs")
    other = signed_in_client(app, "staff", email="other@example.com")
    assert f"/notes/{note_id}/edit" not in page(other, friend_id)
    assert post_form(other, f"/friends/{friend_id}/notes/{note_id}/edit", {"body": "mine now"}).status_code == 403
    assert post_form(other, f"/friends/{friend_id}/notes/{note_id}/delete", {}).status_code == 403
    assert note_bodies(app, friend_id) == ["theirs"]
    assert audit_entries(app, "note.edited") == [] and audit_entries(app, "note.deleted") == []


def test_admin_changes_any_note(app):
    friend_id = make_friend(app)
    signed_in_client(app, "staff", email="author@example.com")
    note_id = note_of(app, friend_id, "author@example.com", "theirs")
    admin = signed_in_client(app, "admin")
    assert f"/notes/{note_id}/edit" in page(admin, friend_id)
    assert post_form(admin, f"/friends/{friend_id}/notes/{note_id}/edit", {"body": "fixed"}).status_code == 302
    assert note_bodies(app, friend_id) == ["fixed"]
    assert audit_entries(app, "note.edited")[0].actor == "staff:admin@example.com"
    assert post_form(admin, f"/friends/{friend_id}/notes/{note_id}/delete", {}).status_code == 302
    assert note_bodies(app, friend_id) == []


def test_edit_with_empty_text_keeps_the_note_and_shows_the_error(app):
    friend_id = make_friend(app)
    client = signed_in_client(app, "staff", locale="en")
    note_id = note_of(app, friend_id, "staff@example.com", "keep me")
    response = post_form(client, f"/friends/{friend_id}/notes/{note_id}/edit", {"body": " "})
    assert response.status_code == 400
    assert "Write something in the note." in response.get_data(as_text=True)
    assert note_bodies(app, friend_id) == ["keep me"]


def test_note_of_another_friend_cannot_be_changed_through_this_page(app):
    friend_id = make_friend(app)
    other_friend = make_friend(app, line_user_id="U" + "b" * 32)
    client = signed_in_client(app, "admin")
    note_id = note_of(app, other_friend, "admin@example.com", "elsewhere")
    response = post_form(client, f"/friends/{friend_id}/notes/{note_id}/delete", {})
    assert response.status_code == 400
    assert note_bodies(app, other_friend) == ["elsewhere"]


@pytest.mark.parametrize("role", ["marketer", "analyst"])
@pytest.mark.db_agnostic  # a permission check: the guard refuses before the view runs
def test_roles_without_notes_write_see_no_form_and_are_refused(app, role):
    friend_id = make_friend(app)
    client = signed_in_client(app, role)
    assert f'action="/friends/{friend_id}/notes"' not in page(client, friend_id)
    assert post_form(client, f"/friends/{friend_id}/notes", {"body": "hello"}).status_code == 403
    assert note_bodies(app, friend_id) == []


def test_may_change_rules():
    note = Note(friend_id=1, author_staff_id=7, body="x")
    assert notes.may_change(note, staff_id=7, edit_any=False)
    assert not notes.may_change(note, staff_id=8, edit_any=False)
    assert notes.may_change(note, staff_id=8, edit_any=True)
    assert not notes.may_change(Note(friend_id=1, author_staff_id=None, body="x"), staff_id=None, edit_any=False)
