"""Console errors are explained in the staff member's language; the webhook keeps its JSON answers."""

import pytest

from tests.console_helpers import signed_in_client
from tests.factories import make_staff
from tests.signing import webhook_body

pytestmark = pytest.mark.db_agnostic  # rendering error pages and the webhook's JSON answers


def test_missing_page_is_explained_in_japanese(app):
    client = signed_in_client(app, "staff")
    response = client.get("/friends/999999")
    assert response.status_code == 404
    assert "このページは存在しないか" in response.get_data(as_text=True)


def test_forbidden_page_is_explained_in_english_for_an_english_staff_member(app):
    client = signed_in_client(app, "analyst", locale="en")
    response = client.get("/staff")
    assert response.status_code == 403
    assert "Your role does not allow this page" in response.get_data(as_text=True)


def test_form_without_csrf_token_says_nothing_changed(app):
    make_staff(app, "staff")
    client = signed_in_client(app, "admin", email="boss@example.com")
    response = client.post("/tags/new", data={"name": "VIP"})
    assert response.status_code == 400
    assert "何も変更されていません" in response.get_data(as_text=True)


def test_webhook_errors_stay_json(client):
    response = client.post("/callback", json=webhook_body())
    assert response.status_code == 400
    assert response.is_json
