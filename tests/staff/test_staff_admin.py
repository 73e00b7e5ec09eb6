"""Staff accounts: create, change role, deactivate and reactivate, reset password; admin safety rules; audit."""

import json

import pytest
from sqlmodel import select

from crm.db import get_engine, session_scope
from crm.staff import admin as staff_accounts
from crm.staff.admin import StaffAccountError
from crm.staff.audit import Actor
from crm.staff.models import AuditEntry, Staff
from tests.console_helpers import login, post_form, signed_in_client
from tests.factories import PASSWORD, make_staff

NEW_PASSWORD = "a brand new passphrase"


def _staff(app, email) -> Staff:
    with session_scope(get_engine(app)) as session:
        return session.exec(select(Staff).where(Staff.email == email)).one()


def _audit(app, action) -> list[AuditEntry]:
    with session_scope(get_engine(app)) as session:
        return session.exec(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)).all()


def _entry_text(entry: AuditEntry) -> str:
    return f"{entry.before} {entry.after}"


def _admin_and_target(app, target_role="staff"):
    client = signed_in_client(app, "admin")
    target = _staff(app, make_staff(app, target_role, email="target@example.com"))
    return client, target


def test_admin_creates_an_account_that_can_sign_in(app):
    client = signed_in_client(app, "admin")
    response = post_form(
        client,
        "/staff/new",
        {"email": "Mika@Example.com", "display_name": "美香", "role": "marketer", "password": NEW_PASSWORD},
        "/staff",
    )
    assert response.status_code == 302
    staff = _staff(app, "mika@example.com")
    assert (staff.display_name, staff.role, staff.active) == ("美香", "marketer", True)
    assert login(app.test_client(), "mika@example.com", NEW_PASSWORD).status_code == 302
    [entry] = _audit(app, "staff.created")
    assert entry.actor == "staff:admin@example.com" and entry.target_id == str(staff.id)
    assert json.loads(entry.after) == {
        "email": "mika@example.com",
        "display_name": "美香",
        "role": "marketer",
        "active": True,
    }
    assert NEW_PASSWORD not in _entry_text(entry) and "argon2" not in _entry_text(entry)
    assert "mika@example.com" in client.get("/staff").get_data(as_text=True)


@pytest.mark.parametrize(
    "data",
    [
        {"email": "short@example.com", "display_name": "S", "role": "staff", "password": "123456789"},
        {"email": "not-an-email", "display_name": "S", "role": "staff", "password": NEW_PASSWORD},
        {"email": "role@example.com", "display_name": "S", "role": "owner", "password": NEW_PASSWORD},
        {"email": "admin@example.com", "display_name": "S", "role": "staff", "password": NEW_PASSWORD},
    ],
)
@pytest.mark.db_agnostic  # form validation: nothing is written
def test_invalid_or_duplicate_accounts_are_refused(app, data):
    client = signed_in_client(app, "admin")
    response = post_form(client, "/staff/new", data, "/staff")
    assert response.status_code == 400
    assert 'class="error"' in response.get_data(as_text=True) or "flash-error" in response.get_data(as_text=True)
    with session_scope(get_engine(app)) as session:
        assert session.exec(select(Staff.email)).all() == ["admin@example.com"]
    assert _audit(app, "staff.created") == []


def test_changing_a_role_is_audited_and_takes_effect(app):
    client, target = _admin_and_target(app, "staff")
    target_client = app.test_client()
    login(target_client, "target@example.com")
    assert target_client.get("/tags").status_code == 200
    assert target_client.get("/staff").status_code == 403
    response = post_form(client, f"/staff/{target.id}/role", {"role": "admin"}, f"/staff/{target.id}")
    assert response.status_code == 302
    assert _staff(app, "target@example.com").role == "admin"
    assert target_client.get("/staff").status_code == 302, "a role change ends the person's sessions"
    login(target_client, "target@example.com")
    assert target_client.get("/staff").status_code == 200, "the new role applies from the next sign-in"
    [entry] = _audit(app, "staff.role_changed")
    assert entry.actor == "staff:admin@example.com" and entry.target_id == str(target.id)
    assert (json.loads(entry.before), json.loads(entry.after)) == ({"role": "staff"}, {"role": "admin"})


def test_deactivating_signs_the_person_out_and_reactivating_lets_them_back(app):
    client, target = _admin_and_target(app, "staff")
    target_client = app.test_client()
    login(target_client, "target@example.com")
    response = post_form(client, f"/staff/{target.id}/deactivate", {}, f"/staff/{target.id}")
    assert response.status_code == 302
    assert target_client.get("/tags").status_code == 302
    assert login(app.test_client(), "target@example.com").status_code == 401
    assert 'data-active="no"' in client.get(f"/staff/{target.id}").get_data(as_text=True)
    response = post_form(client, f"/staff/{target.id}/reactivate", {}, f"/staff/{target.id}")
    assert response.status_code == 302
    assert login(app.test_client(), "target@example.com").status_code == 302
    [off] = _audit(app, "staff.deactivated")
    [on] = _audit(app, "staff.reactivated")
    assert off.actor == on.actor == "staff:admin@example.com"
    assert (json.loads(off.before), json.loads(off.after)) == ({"active": True}, {"active": False})
    assert (json.loads(on.before), json.loads(on.after)) == ({"active": False}, {"active": True})


def test_an_admin_cannot_deactivate_or_demote_themselves(app):
    client = signed_in_client(app, "admin")
    make_staff(app, "admin", email="other-admin@example.com")
    me = _staff(app, "admin@example.com")
    demote = post_form(client, f"/staff/{me.id}/role", {"role": "analyst"}, f"/staff/{me.id}")
    deactivate = post_form(client, f"/staff/{me.id}/deactivate", {}, f"/staff/{me.id}")
    assert (demote.status_code, deactivate.status_code) == (400, 400)
    assert "flash-error" in deactivate.get_data(as_text=True)
    me = _staff(app, "admin@example.com")
    assert (me.role, me.active) == ("admin", True)
    assert _audit(app, "staff.role_changed") == [] and _audit(app, "staff.deactivated") == []


def test_the_last_active_admin_cannot_be_removed(app):
    solo = _staff(app, make_staff(app, "admin", email="solo@example.com"))
    other = _staff(app, make_staff(app, "admin", email="second@example.com"))
    actor = Actor.system("cli")
    with session_scope(get_engine(app)) as session:
        staff_accounts.set_active(session, staff_id=other.id, active=False, actor=actor)
    for attempt in (
        lambda s: staff_accounts.change_role(s, staff_id=solo.id, role="staff", actor=actor),
        lambda s: staff_accounts.set_active(s, staff_id=solo.id, active=False, actor=actor),
    ):
        with pytest.raises(StaffAccountError) as error, session_scope(get_engine(app)) as session:
            attempt(session)
        assert error.value.code == "last_admin"
    with session_scope(get_engine(app)) as session:
        staff_accounts.set_active(session, staff_id=other.id, active=True, actor=actor)
        staff_accounts.change_role(session, staff_id=solo.id, role="staff", actor=actor)
    assert _staff(app, "solo@example.com").role == "staff"


def test_another_admin_can_be_demoted_while_one_admin_remains(app):
    client, target = _admin_and_target(app, "admin")
    response = post_form(client, f"/staff/{target.id}/role", {"role": "editor"}, f"/staff/{target.id}")
    assert response.status_code == 302
    assert _staff(app, "target@example.com").role == "editor"


@pytest.mark.real_hasher
def test_resetting_a_password_is_audited_without_the_password(app):
    client, target = _admin_and_target(app, "staff")
    old_hash = target.password_hash
    short = post_form(client, f"/staff/{target.id}/password", {"password": "too-short"}, f"/staff/{target.id}")
    assert short.status_code == 400
    response = post_form(client, f"/staff/{target.id}/password", {"password": NEW_PASSWORD}, f"/staff/{target.id}")
    assert response.status_code == 302
    assert login(app.test_client(), "target@example.com", PASSWORD).status_code == 401
    assert login(app.test_client(), "target@example.com", NEW_PASSWORD).status_code == 302
    [entry] = _audit(app, "staff.password_reset")
    assert entry.actor == "staff:admin@example.com" and entry.target_id == str(target.id)
    new_hash = _staff(app, "target@example.com").password_hash
    for secret in (NEW_PASSWORD, old_hash, new_hash, "argon2"):
        assert secret not in _entry_text(entry)


def test_unknown_account_is_404(app):
    client = signed_in_client(app, "admin")
    assert client.get("/staff/999").status_code == 404
    assert post_form(client, "/staff/999/deactivate", {}, "/staff").status_code == 404
