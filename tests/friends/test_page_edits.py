"""The friend page's combined edits: every field with one Save (all or nothing), a new tag made on the spot."""

from sqlmodel import select

from crm.db import get_engine, session_scope
from crm.fields.models import FieldType, FieldValue
from crm.fields.service import FieldSpec
from crm.tags.models import FriendTag, Tag
from tests.console_helpers import post_form, signed_in_client
from tests.factories import make_friend, make_tag
from tests.fields.test_fields import define, stored_value


def _fields(app):
    store = define(app, FieldSpec(key="store", label="店舗", field_type=FieldType.TEXT))
    points = define(app, FieldSpec(key="points", label="ポイント", field_type=FieldType.NUMBER))
    return store, points


def test_every_field_is_saved_with_one_button_and_the_page_says_so(app):
    friend_id = make_friend(app)
    store, points = _fields(app)
    client = signed_in_client(app, "staff", locale="ja")
    page = client.get(f"/friends/{friend_id}").get_data(as_text=True)
    assert page.count("友だち情報を保存") == 1, "one Save button for all fields"
    response = post_form(
        client,
        f"/friends/{friend_id}/fields",
        {f"field-{store}": "渋谷店", f"field-{points}": "120"},
        f"/friends/{friend_id}",
    )
    assert response.status_code == 302
    assert (stored_value(app, friend_id, store), stored_value(app, friend_id, points)) == ("渋谷店", "120")
    assert "友だち情報を2件保存しました" in client.get(response.headers["Location"]).get_data(as_text=True)


def test_one_refused_value_saves_nothing_and_keeps_what_was_typed(app):
    friend_id = make_friend(app)
    store, points = _fields(app)
    client = signed_in_client(app, "staff", locale="ja")
    response = post_form(
        client,
        f"/friends/{friend_id}/fields",
        {f"field-{store}": "梅田店", f"field-{points}": "たくさん"},
        f"/friends/{friend_id}",
    )
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert 'value="梅田店"' in html and 'value="たくさん"' in html and 'role="alert"' in html
    with session_scope(get_engine(app)) as session:
        assert session.exec(select(FieldValue)).all() == []


def test_a_new_tag_is_created_and_put_on_the_friend_from_their_page(app):
    friend_id = make_friend(app)
    client = signed_in_client(app, "staff", locale="ja")
    response = post_form(client, f"/friends/{friend_id}/tags/new", {"name": "来店済み"}, f"/friends/{friend_id}")
    assert response.status_code == 302
    with session_scope(get_engine(app)) as session:
        tag = session.exec(select(Tag).where(Tag.name == "来店済み")).one()
        assert session.get(FriendTag, (friend_id, tag.id)) is not None
    make_tag(app, "VIP")
    duplicate = post_form(client, f"/friends/{friend_id}/tags/new", {"name": "VIP"}, f"/friends/{friend_id}")
    assert duplicate.status_code == 400 and 'role="alert"' in duplicate.get_data(as_text=True)


def test_staff_without_tag_management_cannot_create_tags_from_the_page(app):
    friend_id = make_friend(app)
    client = signed_in_client(app, "staff", locale="ja")
    assert "新しいタグ" in client.get(f"/friends/{friend_id}").get_data(as_text=True)
    analyst = signed_in_client(app, "analyst", locale="ja", email="a@example.com")
    assert "新しいタグ" not in analyst.get(f"/friends/{friend_id}").get_data(as_text=True)
