"""The API tokens page (admins): the secret shown once, stored hashed, last use shown, revocation; the docs page."""

from __future__ import annotations

import re

import pytest
from flask_babel import force_locale
from flask_babel import gettext as translation_of
from sqlmodel import select

from crm.api.doc_texts import document_texts
from crm.staff.models import ApiToken, AuditEntry
from tests.api.helpers import bearer
from tests.console_helpers import post_form, signed_in_client

SECRET = re.compile(r"<code data-secret>(lcrm_[A-Za-z0-9_-]+)</code>")


def _create(client, name="Shop system", role="staff"):
    return post_form(client, "/settings/api-tokens", {"name": name, "role": role}, "/settings/api-tokens")


def test_admin_creates_a_token_that_is_shown_once_and_works(app, session):
    admin = signed_in_client(app, "admin")
    response = _create(admin)
    assert response.status_code == 201
    secret = SECRET.search(response.get_data(as_text=True)).group(1)
    page = admin.get("/settings/api-tokens").get_data(as_text=True)
    assert secret not in page and secret[:10] in page and "Shop system" in page
    token = session.exec(select(ApiToken)).one()
    assert token.role == "staff" and secret not in token.token_hash
    assert session.exec(select(AuditEntry).where(AuditEntry.action == "api_token.created")).one().actor_staff_id
    assert app.test_client().get("/api/v1/friends", headers=bearer(secret)).status_code == 200
    row = re.search(r"data-last-used>([^<]+)<", admin.get("/settings/api-tokens").get_data(as_text=True)).group(1)
    assert re.match(r"\d{4}", row.strip()), row  # a Japan-time date, no longer "never"


def test_revoked_token_stops_working_at_once(app, session):
    admin = signed_in_client(app, "admin")
    secret = SECRET.search(_create(admin).get_data(as_text=True)).group(1)
    token_id = session.exec(select(ApiToken.id)).one()
    response = post_form(admin, f"/settings/api-tokens/{token_id}/revoke", {}, "/settings/api-tokens")
    assert response.status_code == 302
    assert app.test_client().get("/api/v1/tags", headers=bearer(secret)).status_code == 401
    assert session.get(ApiToken, token_id).revoked_at is not None


@pytest.mark.parametrize(
    "data", [{"name": "", "role": "staff"}, {"name": "x", "role": "owner"}, {"name": "x" * 101, "role": "admin"}]
)
@pytest.mark.db_agnostic  # form validation: nothing is written
def test_bad_token_forms_are_refused(app, session, data):
    admin = signed_in_client(app, "admin")
    assert post_form(admin, "/settings/api-tokens", data, "/settings/api-tokens").status_code == 400
    assert session.exec(select(ApiToken)).all() == []


def test_docs_page_lists_every_operation_from_the_document(app):
    page = signed_in_client(app, "analyst").get("/api-docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    document = app.test_client().get("/api/v1/openapi.json").get_json()
    for path, item in document["paths"].items():
        for method in item:
            if method != "parameters":
                assert f'data-operation="{method.upper()} {path}"' in html
    assert "tags.manage" in html and "schema-Tag" in html


def test_docs_page_says_status_codes_not_survey_answers(app):
    html = signed_in_client(app, "analyst", locale="ja").get("/api-docs").get_data(as_text=True)
    assert "HTTPステータスコード" in html and "回答数" not in html
    assert '<th class="nowrap">必須</th>' in html, "the 必須 header never wraps"


def test_every_text_of_the_api_document_reads_in_japanese_on_the_docs_page(app):
    document = app.test_client().get("/api/v1/openapi.json").get_json()
    texts = document_texts(document)
    assert "Create a tag." in texts and len(texts) > 50
    with app.test_request_context(), force_locale("ja"):
        untranslated = [text for text in texts if translation_of(text) == text and text.isascii()]
    # Texts that are only codes or JSON may stay as they are; every sentence has Japanese.
    assert [text for text in untranslated if " " in text and not text.startswith("{")] == []
    html = signed_in_client(app, "analyst", locale="ja").get("/api-docs").get_data(as_text=True)
    assert "タグを作成します。" in html and "Create a tag." not in html
    assert "名前に含む" in html  # a parameter's description
    assert "プログラムで判別できる固定のコード" in html  # a schema field's description
    english = signed_in_client(app, "marketer", locale="en").get("/api-docs").get_data(as_text=True)
    assert "Create a tag." in english
