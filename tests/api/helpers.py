"""API test helpers: tokens per role, an authorised JSON client, and one of each object the API names."""

from __future__ import annotations

from crm.broadcasts import drafts as broadcast_drafts
from crm.db import get_engine, session_scope
from crm.fields.models import FieldDefinition
from crm.friends.models import Friend, Note
from crm.message_templates.models import MessageTemplate
from crm.staff.audit import Actor
from crm.tags import admin as tag_admin
from crm.tags.service import add_tag
from crm.timeutil import utcnow
from tests.factories import make_token

SYSTEM = Actor.system("test")


def bearer(secret: str) -> dict:
    return {"Authorization": f"Bearer {secret}"}


class ApiClient:
    """A test client that sends a bearer token with every request."""

    def __init__(self, app, secret: str):
        self.client, self.headers = app.test_client(), bearer(secret)

    def open(self, method: str, path: str, **kwargs):
        return self.client.open(path, method=method, headers={**self.headers, **kwargs.pop("headers", {})}, **kwargs)

    def get(self, path, **kw):
        return self.open("GET", path, **kw)

    def post(self, path, **kw):
        return self.open("POST", path, **kw)

    def put(self, path, **kw):
        return self.open("PUT", path, **kw)

    def patch(self, path, **kw):
        return self.open("PATCH", path, **kw)

    def delete(self, path, **kw):
        return self.open("DELETE", path, **kw)


def api_client(app, role: str) -> ApiClient:
    return ApiClient(app, make_token(app, role))


def seed(app) -> dict:
    """One friend with a tag, a note and a field value; a text field; return their ids."""
    with session_scope(get_engine(app)) as session:
        friend = Friend(
            line_user_id="U" + "b" * 32,
            display_name="山田花子",
            picture_url="https://example.com/p.png",
            last_followed_at=utcnow(),
        )
        field = FieldDefinition(key="plan", label="Plan", field_type="text")
        number = FieldDefinition(key="points", label="Points", field_type="number", required=True)
        session.add_all([friend, field, number])
        session.flush()
        tag = tag_admin.create_tag(session, name="VIP", actor=SYSTEM)
        other = tag_admin.create_tag(session, name="Other", actor=SYSTEM)
        add_tag(session, friend_id=friend.id, tag_id=tag.id, actor=SYSTEM)
        note = Note(friend_id=friend.id, body="prefers evening calls")
        template = MessageTemplate(name="Welcome", messages='[{"type": "text", "text": "Welcome {name}"}]')
        session.add_all([note, template])
        draft = broadcast_drafts.create_draft(
            session,
            actor=SYSTEM,
            name="Seeded draft",
            purpose=None,
            messages=[{"type": "text", "text": "Hello {name}"}],
        )
        session.flush()
        return {
            "broadcast_id": draft.id,
            "friend_id": friend.id,
            "tag_id": tag.id,
            "other_tag_id": other.id,
            "field_key": field.key,
            "number_key": number.key,
            "note_id": note.id,
            "survey_id": 1,
            "template_id": template.id,
        }
