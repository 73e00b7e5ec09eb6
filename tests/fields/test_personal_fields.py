"""Personal fields (個人情報): the admin's flag, the survey default, the migration default, and masking on the
friend page and in the API for roles without personal-data access."""

from __future__ import annotations

import re

import sqlalchemy as sa
from sqlmodel import Session

from crm import migrate
from crm.db import get_engine, make_engine
from crm.fields.models import FieldDefinition
from crm.staff.models import AuditEntry
from tests.api.helpers import api_client
from tests.console_helpers import post_form, signed_in_client
from tests.factories import make_field, make_friend, set_field_value
from tests.surveys.helpers import build_survey, free

ADDRESS = "東京都渋谷区神南1-2-3"


def _definition(app, field_id: int) -> FieldDefinition:
    with Session(get_engine(app)) as session:
        return session.get(FieldDefinition, field_id)


def _friend_with_address(app) -> tuple[int, int, int]:
    friend = make_friend(app, display_name="山田花子")
    address = make_field(app, "address", label="住所", personal=True)
    plan = make_field(app, "plan", label="プラン")
    set_field_value(app, friend_id=friend, field_id=address, value=ADDRESS)
    set_field_value(app, friend_id=friend, field_id=plan, value="gold")
    return friend, address, plan


def test_admin_marks_a_field_personal_on_the_form_with_japanese_help(app):
    client = signed_in_client(app, "admin")
    page = client.get("/fields").get_data(as_text=True)
    assert "個人データ" in page and "アナリストには値が伏せ字で表示" in page
    response = post_form(
        client,
        "/fields",
        {"key": "phone", "label": "電話番号", "field_type": "text", "position": "0", "personal": "y"},
        "/fields",
    )
    assert response.status_code == 302
    with Session(get_engine(app)) as session:
        phone = session.exec(sa.select(FieldDefinition).where(FieldDefinition.key == "phone")).scalar_one()
    assert phone.personal is True
    edit = client.get(f"/fields/{phone.id}/edit").get_data(as_text=True)
    assert re.search(r'<input[^>]*checked[^>]*name="personal"|<input[^>]*name="personal"[^>]*checked', edit)


def test_a_survey_question_saving_free_text_makes_the_text_field_personal(app):
    address = make_field(app, "address", label="住所")
    rank = make_field(app, "rank", label="ランク", field_type="number")
    build_survey(app, free("ご住所は?", save_field_id=address), free("ランクは?", save_field_id=rank))
    assert _definition(app, address).personal is True
    assert _definition(app, rank).personal is False  # only text fields hold free text as typed
    with Session(get_engine(app)) as session:
        audited = session.exec(
            sa.select(AuditEntry).where(
                AuditEntry.action == "field.definition_changed", AuditEntry.target_id == address
            )
        ).scalar_one()
    assert '"personal": true' in audited.after


def test_analyst_sees_personal_values_masked_on_the_friend_page(app):
    friend, _address, _plan = _friend_with_address(app)
    analyst = signed_in_client(app, "analyst").get(f"/friends/{friend}").get_data(as_text=True)
    assert ADDRESS not in analyst and "gold" in analyst and "個人情報のため非表示" in analyst
    admin = signed_in_client(app, "admin", email="boss@example.com").get(f"/friends/{friend}").get_data(as_text=True)
    assert ADDRESS in admin


def test_api_masks_personal_values_for_a_masked_token_role(app):
    friend, _address, _plan = _friend_with_address(app)
    seen = {row["key"]: row for row in api_client(app, "analyst").get(f"/api/v1/friends/{friend}").json["fields"]}
    assert seen["address"]["value"] is None and seen["address"]["masked"] is True
    assert seen["plan"] == {**seen["plan"], "value": "gold", "masked": False}
    full = {row["key"]: row for row in api_client(app, "marketer").get(f"/api/v1/friends/{friend}").json["fields"]}
    assert full["address"]["value"] == ADDRESS and full["address"]["masked"] is False
    definitions = {d["key"]: d for d in api_client(app, "analyst").get("/api/v1/fields").json}
    assert definitions["address"]["personal"] is True and definitions["plan"]["personal"] is False


SEED_BEFORE_0019 = [
    "INSERT INTO field_definition (id, key, label, field_type, required, position, created_at) VALUES"
    " (1, 'address', 'address', 'text', false, 0, CURRENT_TIMESTAMP),"
    " (2, 'memo', 'memo', 'text', false, 0, CURRENT_TIMESTAMP),"
    " (3, 'rank', 'rank', 'number', false, 0, CURRENT_TIMESTAMP)",
    "INSERT INTO survey (id, title, allow_repeat, use_web_form, status, created_at, updated_at)"
    " VALUES (1, 's', false, false, 'draft', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
    "INSERT INTO survey_version (id, survey_id, number, state, created_at)"
    " VALUES (1, 1, 1, 'draft', CURRENT_TIMESTAMP)",
    "INSERT INTO survey_question (id, version_id, position, kind, text, required, save_field_id) VALUES"
    " (1, 1, 0, 'text', 'address?', true, 1), (2, 1, 1, 'text', 'rank?', true, 3)",
]


def test_the_migration_makes_text_fields_fed_by_a_survey_question_personal(database_url):
    migrate.downgrade(database_url, "0017")
    engine = make_engine(database_url)
    with engine.begin() as db:
        for statement in SEED_BEFORE_0019:
            db.execute(sa.text(statement))
    engine.dispose()
    migrate.upgrade(database_url)
    engine = make_engine(database_url)
    with engine.connect() as db:
        personal = {key: bool(flag) for key, flag in db.execute(sa.text("SELECT key, personal FROM field_definition"))}
    engine.dispose()
    assert personal == {"address": True, "memo": False, "rank": False}
