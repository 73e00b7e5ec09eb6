"""Custom fields: definitions by admins, values validated by type, set and cleared from the friend page."""

import json

import pytest
from sqlmodel import select

from crm.db import get_engine, session_scope
from crm.fields import service as fields
from crm.fields.models import FieldDefinition, FieldType, FieldValue
from crm.fields.service import FieldSpec, FieldValidationError
from crm.staff.audit import Actor
from tests.console_helpers import post_form, signed_in_client
from tests.factories import make_friend
from tests.friends.test_page import audit_entries, page

ACTOR = Actor.system("test")


def definition(kind: str, choices=(), label="Favourite") -> FieldDefinition:
    return FieldDefinition(
        id=1, key="f", label=label, field_type=kind, choices=json.dumps(list(choices)) if choices else None
    )


def define(app, spec: FieldSpec) -> int:
    with session_scope(get_engine(app)) as session:
        return fields.create_definition(session, spec=spec, actor=ACTOR).id


def stored_value(app, friend_id: int, field_id: int) -> str | None:
    with session_scope(get_engine(app)) as session:
        row = session.get(FieldValue, (friend_id, field_id))
        return None if row is None else row.value


@pytest.mark.parametrize(
    "raw,canonical",
    [
        ("42", "42"),
        ("1.50", "1.5"),
        ("-0.0", "0"),
        ("+7", "7"),
        (" 3.0 ", "3"),
        ("１２３", "123"),
        ("1000", "1000"),
        ("0.001", "0.001"),
        (".5", "0.5"),
        ("-12.340", "-12.34"),
    ],
)
def test_number_values_get_a_canonical_form(raw, canonical):
    assert fields.canonical_value(definition(FieldType.NUMBER), raw) == canonical


@pytest.mark.parametrize("raw", ["abc", "1e3", "1,000", "NaN", "Infinity", "1.2.3", "--1", "1" * 41])
def test_bad_numbers_are_refused_with_a_clear_message(raw):
    with pytest.raises(FieldValidationError) as caught:
        fields.canonical_value(definition(FieldType.NUMBER, label="Points"), raw)
    assert str(caught.value) == "Points: enter a number such as 42, -3 or 1.5."


def test_dates_must_be_iso_and_real():
    field = definition(FieldType.DATE, label="Birthday")
    assert fields.canonical_value(field, "2024-04-01") == "2024-04-01"
    assert fields.canonical_value(field, "２０２４-０２-２９") == "2024-02-29"
    for raw in ("2024/04/01", "20240401", "1 April 2024", "2024-W01-1"):
        with pytest.raises(FieldValidationError, match="Birthday: enter a date as YYYY-MM-DD"):
            fields.canonical_value(field, raw)
    with pytest.raises(FieldValidationError) as caught:
        fields.canonical_value(field, "2023-02-29")
    assert str(caught.value) == "Birthday: 2023-02-29 is not a real date."


def test_choice_must_be_one_of_the_choices():
    field = definition(FieldType.CHOICE, choices=("Shibuya", "Umeda"), label="Store")
    assert fields.canonical_value(field, " Umeda ") == "Umeda"
    with pytest.raises(FieldValidationError) as caught:
        fields.canonical_value(field, "Nagoya")
    assert str(caught.value) == "Store: choose one of Shibuya, Umeda."


def test_text_is_limited_to_1000_characters():
    field = definition(FieldType.TEXT, label="Memo")
    assert fields.canonical_value(field, "あ" * 1000) == "あ" * 1000
    with pytest.raises(FieldValidationError) as caught:
        fields.canonical_value(field, "あ" * 1001)
    assert str(caught.value) == "Memo: use at most 1000 characters (now 1001)."


def test_empty_value_is_refused():
    with pytest.raises(FieldValidationError, match="Memo: enter a value."):
        fields.canonical_value(definition(FieldType.TEXT, label="Memo"), "  ")


def test_set_change_and_clear_are_audited_with_before_and_after(app):
    friend_id = make_friend(app)
    field_id = define(app, FieldSpec(key="points", label="Points", field_type=FieldType.NUMBER))
    with session_scope(get_engine(app)) as session:
        fields.set_field_value(session, friend_id=friend_id, field_id=field_id, raw_value="10.0", actor=ACTOR)
    with session_scope(get_engine(app)) as session:
        fields.set_field_value(session, friend_id=friend_id, field_id=field_id, raw_value="10", actor=ACTOR)
        fields.set_field_value(session, friend_id=friend_id, field_id=field_id, raw_value="12", actor=ACTOR)
    assert stored_value(app, friend_id, field_id) == "12"
    sets = audit_entries(app, "field.set")
    assert [(json.loads(e.before)["value"], json.loads(e.after)["value"]) for e in sets] == [(None, "10"), ("10", "12")]
    with session_scope(get_engine(app)) as session:
        assert fields.clear_field_value(session, friend_id=friend_id, field_id=field_id, actor=ACTOR)
        assert not fields.clear_field_value(session, friend_id=friend_id, field_id=field_id, actor=ACTOR)
    assert stored_value(app, friend_id, field_id) is None
    [cleared] = audit_entries(app, "field.cleared")
    assert json.loads(cleared.before) == {"field": "points", "value": "12"}


def test_required_field_cannot_be_emptied(app):
    friend_id = make_friend(app)
    field_id = define(app, FieldSpec(key="code", label="Member code", field_type=FieldType.TEXT, required=True))
    with session_scope(get_engine(app)) as session:
        fields.set_field_value(session, friend_id=friend_id, field_id=field_id, raw_value="A-1", actor=ACTOR)
    with session_scope(get_engine(app)) as session, pytest.raises(FieldValidationError, match="is required"):
        fields.clear_field_value(session, friend_id=friend_id, field_id=field_id, actor=ACTOR)
    assert stored_value(app, friend_id, field_id) == "A-1"


@pytest.mark.parametrize(
    "spec,message",
    [
        (FieldSpec(key="Bad Key", label="x", field_type="text"), "Key: use lowercase letters"),
        (FieldSpec(key="ok", label=" ", field_type="text"), "Label: enter 1 to 100 characters."),
        (FieldSpec(key="ok", label="x", field_type="colour"), "Type: choose text"),
        (FieldSpec(key="ok", label="x", field_type="choice"), "Choices: enter at least one choice"),
        (FieldSpec(key="ok", label="x", field_type="choice", choices=("a", "a")), "Choices: each choice must be"),
    ],
)
@pytest.mark.db_agnostic  # validation of the form's values, before any row is written
def test_bad_definitions_are_refused(session, spec, message):
    with pytest.raises(FieldValidationError, match=message):
        fields.create_definition(session, spec=spec, actor=ACTOR)


def test_definition_changes_that_would_break_values_are_refused(app):
    friend_id = make_friend(app)
    store = FieldSpec(key="store", label="Store", field_type=FieldType.CHOICE, choices=("Shibuya", "Umeda"))
    field_id = define(app, store)
    define(app, FieldSpec(key="taken", label="Taken", field_type=FieldType.TEXT))
    with session_scope(get_engine(app)) as session:
        fields.set_field_value(session, friend_id=friend_id, field_id=field_id, raw_value="Umeda", actor=ACTOR)
    attempts = [
        (FieldSpec(key="store", label="Store", field_type=FieldType.TEXT), "its type cannot change"),
        (
            FieldSpec(key="store", label="Store", field_type=FieldType.CHOICE, choices=("Shibuya",)),
            "1 friends have a choice you removed",
        ),
        (
            FieldSpec(key="taken", label="Store", field_type=FieldType.CHOICE, choices=("Umeda",)),
            "taken is already used",
        ),
    ]
    for spec, message in attempts:
        with session_scope(get_engine(app)) as session, pytest.raises(FieldValidationError, match=message):
            fields.update_definition(session, field_id=field_id, spec=spec, actor=ACTOR)
    with session_scope(get_engine(app)) as session:
        renamed = FieldSpec(
            key="store", label="Favourite store", field_type=FieldType.CHOICE, choices=("Umeda", "Nagoya"), position=2
        )
        fields.update_definition(session, field_id=field_id, spec=renamed, actor=ACTOR)
    [changed] = audit_entries(app, "field.definition_changed")
    assert json.loads(changed.before)["choices"] == ["Shibuya", "Umeda"]
    assert json.loads(changed.after)["choices"] == ["Umeda", "Nagoya"]


def test_admin_defines_edits_and_deletes_fields_in_the_console(app):
    admin = signed_in_client(app, "admin", locale="en")
    assert admin.get("/fields").status_code == 200
    data = {
        "key": "store",
        "label": "Store",
        "field_type": "choice",
        "choices": "Shibuya\r\nUmeda\r\n\r\n",
        "position": "1",
        "required": "y",
    }
    assert post_form(admin, "/fields", data).status_code == 302
    with session_scope(get_engine(app)) as session:
        created = session.exec(select(FieldDefinition)).one()
    assert (created.key, created.required, fields.choices_of(created)) == ("store", True, ["Shibuya", "Umeda"])
    duplicate = post_form(admin, "/fields", data)
    assert duplicate.status_code == 400 and "Key: store is already used" in duplicate.get_data(as_text=True)
    edit_page = admin.get(f"/fields/{created.id}/edit").get_data(as_text=True)
    assert "Shibuya\nUmeda</textarea>" in edit_page
    changed = post_form(admin, f"/fields/{created.id}/edit", {**data, "label": "Favourite store", "required": ""})
    assert changed.status_code == 302
    assert "Favourite store" in admin.get("/fields").get_data(as_text=True)
    friend_id = make_friend(app)
    with session_scope(get_engine(app)) as session:
        fields.set_field_value(session, friend_id=friend_id, field_id=created.id, raw_value="Umeda", actor=ACTOR)
    assert post_form(admin, f"/fields/{created.id}/delete", {}).status_code == 302
    with session_scope(get_engine(app)) as session:
        assert session.exec(select(FieldDefinition)).first() is None
    assert json.loads(audit_entries(app, "field.definition_deleted")[0].before)["values"] == 1
    assert [e.action for e in audit_entries(app, "field.defined")] == ["field.defined"]


@pytest.mark.db_agnostic  # a permission check: the guard refuses before any SQL runs
@pytest.mark.parametrize("role", ["marketer", "editor", "staff", "analyst"])
def test_only_admins_define_fields(app, session, role):
    client = signed_in_client(app, role)
    assert client.get("/fields").status_code == 403
    data = {"key": "x", "label": "X", "field_type": "text"}
    assert post_form(client, "/fields", data).status_code == 403
    assert session.exec(select(FieldDefinition)).first() is None


def test_staff_sets_and_clears_values_on_the_friend_page(app):
    friend_id = make_friend(app)
    points = define(app, FieldSpec(key="points", label="Points", field_type=FieldType.NUMBER))
    store = define(
        app, FieldSpec(key="store", label="Store", field_type=FieldType.CHOICE, choices=("Shibuya", "<Umeda>"))
    )
    client = signed_in_client(app, "staff", locale="en")
    html = page(client, friend_id)
    assert 'inputmode="decimal"' in html and '<option value="&lt;Umeda&gt;"' in html
    assert post_form(client, f"/friends/{friend_id}/fields", {f"field-{points}": "1,000"}).status_code == 400
    bad = post_form(client, f"/friends/{friend_id}/fields", {f"field-{points}": "twelve"})
    assert bad.status_code == 400
    html = bad.get_data(as_text=True)
    assert "Points: enter a number such as 42, -3 or 1.5." in html and 'value="twelve"' in html
    assert stored_value(app, friend_id, points) is None
    assert post_form(client, f"/friends/{friend_id}/fields", {f"field-{points}": "12.50"}).status_code == 302
    assert post_form(client, f"/friends/{friend_id}/fields", {f"field-{store}": "<Umeda>"}).status_code == 302
    assert stored_value(app, friend_id, points) == "12.5"
    assert '<option value="&lt;Umeda&gt;" selected>' in page(client, friend_id)
    assert post_form(client, f"/friends/{friend_id}/fields", {f"field-{points}": ""}).status_code == 302
    assert stored_value(app, friend_id, points) is None
    assert [e.action for e in audit_entries(app, "field.cleared")] == ["field.cleared"]


def test_setting_an_unknown_field_is_refused(app):
    friend_id = make_friend(app)
    client = signed_in_client(app, "staff")
    assert post_form(client, f"/friends/{friend_id}/fields", {"field-999": "1"}).status_code == 400
    assert audit_entries(app, "field.set") == []


def test_analyst_sees_values_without_forms(app):
    friend_id = make_friend(app)
    field_id = define(app, FieldSpec(key="month", label="Birth month", field_type=FieldType.NUMBER))
    with session_scope(get_engine(app)) as session:
        fields.set_field_value(session, friend_id=friend_id, field_id=field_id, raw_value="4", actor=ACTOR)
    html = page(signed_in_client(app, "analyst"), friend_id)
    assert 'class="field-value">4<' in html
    assert f'name="field-{field_id}"' not in html and '/fields"' not in html
