"""Nothing personal is stored on an erased friend again: a friend page or API call that was under way when the
friend was erased stores no note or field value."""

from sqlmodel import select

from crm.db import get_engine, session_scope
from crm.fields.models import FieldValue
from crm.friends.models import Note
from crm.privacy.service import erase_friend
from tests.console_helpers import csrf_token, signed_in_client
from tests.factories import SYSTEM, make_field, make_friend, make_token


def erase(app, friend_id):
    with session_scope(get_engine(app)) as session:
        erase_friend(session, friend_id=friend_id, actor=SYSTEM)


def stored(app, model):
    with session_scope(get_engine(app)) as session:
        return session.exec(select(model)).all()


def test_a_friend_page_left_open_stores_no_note_or_field_after_erasure(app):
    friend_id, field_id = make_friend(app, display_name="消える花子"), make_field(app, "address")
    client = signed_in_client(app, "admin")
    token = csrf_token(client, f"/friends/{friend_id}")
    erase(app, friend_id)
    note = client.post(f"/friends/{friend_id}/notes", data={"body": "電話は夜", "csrf_token": token})
    field = client.post(f"/friends/{friend_id}/fields", data={f"field-{field_id}": "渋谷区", "csrf_token": token})
    assert note.status_code == field.status_code == 400
    assert "この友だちのデータは消去済みのため" in note.get_data(as_text=True)
    assert stored(app, Note) == [] and stored(app, FieldValue) == []


def test_the_api_refuses_notes_and_fields_for_an_erased_friend(app, client):
    friend_id = make_friend(app)
    make_field(app, "address")
    erase(app, friend_id)
    headers = {"Authorization": f"Bearer {make_token(app, 'admin')}"}
    note = client.post(f"/api/v1/friends/{friend_id}/notes", json={"body": "電話は夜"}, headers=headers)
    field = client.put(f"/api/v1/friends/{friend_id}/fields/address", json={"value": "渋谷区"}, headers=headers)
    assert note.status_code == field.status_code == 409
    assert note.json["error"]["code"] == "conflict"
    assert stored(app, Note) == [] and stored(app, FieldValue) == []
