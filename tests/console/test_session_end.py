"""Sessions end for good: after sign-out, a password reset, a role change or a deactivation, a copied session
cookie no longer opens the console."""

import pytest
from sqlmodel import select

from crm.db import get_engine, session_scope
from crm.staff.models import Staff
from tests.console_helpers import csrf_token, post_form, signed_in_client
from tests.factories import make_staff


def _copy_of(app, client):
    """A second browser holding a copy of this client's session cookie."""
    copy = app.test_client()
    copy.set_cookie("session", client.get_cookie("session").value)
    return copy


def _staff_id(app, email: str) -> int:
    with session_scope(get_engine(app)) as session:
        return session.exec(select(Staff.id).where(Staff.email == email)).one()


def test_sign_out_ends_a_copied_session(app):
    client = signed_in_client(app, "staff")
    copy = _copy_of(app, client)
    assert copy.get("/").status_code == 200
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    assert copy.get("/").status_code == 302


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("password", {"password": "a brand new passphrase"}),
        ("role", {"role": "analyst"}),
        ("deactivate", {}),
    ],
    ids=["password_reset", "role_change", "deactivation"],
)
def test_an_admin_change_ends_the_accounts_sessions(app, path, data):
    admin = signed_in_client(app, "admin")
    target = signed_in_client(app, "staff", email="target@example.com")
    assert target.get("/").status_code == 200
    target_id = _staff_id(app, "target@example.com")
    response = post_form(admin, f"/staff/{target_id}/{path}", data, form_page=f"/staff/{target_id}")
    assert response.status_code == 302
    assert target.get("/").status_code == 302
    assert admin.get("/").status_code == 200  # the admin's own session is untouched


def test_other_accounts_sessions_survive(app):
    first = signed_in_client(app, "staff", email="first@example.com")
    second = signed_in_client(app, "staff", email="second@example.com")
    first.post("/logout", data={"csrf_token": csrf_token(first, "/")})
    assert second.get("/").status_code == 200


def test_a_session_from_before_versions_is_refused(app):
    client = app.test_client()
    staff_id = _staff_id(app, make_staff(app, "staff"))
    with client.session_transaction() as session:
        session["_user_id"] = str(staff_id)
        session["_fresh"] = True
    assert client.get("/").status_code == 302
