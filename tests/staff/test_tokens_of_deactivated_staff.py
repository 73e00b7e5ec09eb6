"""API tokens go with the person who created them: deactivating the account revokes its tokens, audited."""

from sqlalchemy import text
from sqlmodel import select

from crm import migrate
from crm.db import get_engine, make_engine, session_scope
from crm.staff import api_tokens
from crm.staff.audit import Actor
from crm.staff.models import ApiToken, AuditEntry, Staff
from tests.console_helpers import post_form, signed_in_client
from tests.factories import make_staff, make_token


def _token_of(app, email: str, name: str) -> str:
    with session_scope(get_engine(app)) as session:
        staff = session.exec(select(Staff).where(Staff.email == email)).one()
        _token, secret = api_tokens.create_token(
            session, name=name, role="staff", actor=Actor.staff(staff.id, staff.email)
        )
        return secret


def _calls(app, secret: str) -> int:
    return app.test_client().get("/api/v1/friends", headers={"Authorization": f"Bearer {secret}"}).status_code


def test_deactivating_the_creator_revokes_their_tokens_only(app, session):
    admin = signed_in_client(app, "admin")
    make_staff(app, "admin", email="leaver@example.com")
    leavers = [_token_of(app, "leaver@example.com", name) for name in ("Shop", "Ads")]
    admins = _token_of(app, "admin@example.com", "Stock")
    other = make_token(app, "staff")
    leaver_id = session.exec(select(Staff.id).where(Staff.email == "leaver@example.com")).one()
    page = admin.get(f"/staff/{leaver_id}").get_data(as_text=True)
    assert 'data-tokens-to-revoke="2"' in page
    response = post_form(admin, f"/staff/{leaver_id}/deactivate", {}, form_page=f"/staff/{leaver_id}")
    assert response.status_code == 302
    assert [_calls(app, secret) for secret in leavers] == [401, 401]
    assert _calls(app, admins) == 200 and _calls(app, other) == 200
    revoked = session.exec(select(AuditEntry).where(AuditEntry.action == "api_token.revoked")).all()
    assert len(revoked) == 2 and {entry.actor for entry in revoked} == {"staff:admin@example.com"}
    post_form(admin, f"/staff/{leaver_id}/reactivate", {}, form_page=f"/staff/{leaver_id}")
    assert [_calls(app, secret) for secret in leavers] == [401, 401], "reactivation does not bring tokens back"


def test_the_upgrade_revokes_tokens_of_staff_deactivated_before_it(database_url):
    migrate.downgrade(database_url, "0017")
    engine = make_engine(database_url)
    with engine.begin() as connection:
        for staff_id, active in ((1, False), (2, True)):
            connection.execute(
                text(
                    "INSERT INTO staff (id, email, display_name, password_hash, role, locale, active, created_at)"
                    " VALUES (:id, :email, 'x', 'x', 'admin', 'ja', :active, CURRENT_TIMESTAMP)"
                ),
                {"id": staff_id, "email": f"s{staff_id}@example.com", "active": active},
            )
            connection.execute(
                text(
                    "INSERT INTO api_token (name, role, token_hash, prefix, created_by, created_at)"
                    " VALUES ('t', 'staff', :hash, 'lcrm_', :id, CURRENT_TIMESTAMP)"
                ),
                {"hash": f"{staff_id:064d}", "id": staff_id},
            )
    migrate.upgrade(database_url)
    with session_scope(engine) as session:
        tokens = session.exec(select(ApiToken).order_by(ApiToken.created_by)).all()
        assert [token.revoked_at is not None for token in tokens] == [True, False]
    engine.dispose()
