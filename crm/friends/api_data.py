"""A friend's tags (idempotent add/remove), notes (list, create), field values (set, clear) and attention mark."""

from __future__ import annotations

import marshmallow as ma
from flask_smorest import Blueprint
from marshmallow import fields, validate
from sqlmodel import select

from crm.api import auth, errors
from crm.api.pages import page_after
from crm.api.schemas import (
    Changed,
    ErrorSchema,
    FieldDefinitionSchema,
    FieldSet,
    FieldValueSchema,
    NoteCreate,
    NoteSchema,
    PageArgs,
    page_of,
)
from crm.db import get_session, unit_of_work
from crm.fields import service as field_service
from crm.fields.models import FieldDefinition
from crm.friends import attention
from crm.friends import notes as note_service
from crm.friends import service as friend_service
from crm.friends.api import ID, field_values, get_friend, note_dict
from crm.tags import service as tag_service
from crm.tags.models import Tag

blp = Blueprint(
    "api_friend_data", __name__, url_prefix="/api/v1", description="A friend's tags, notes and field values"
)
errors.install(blp)
TAG = "<int(max=2147483647):tag_id>"
KEY = "<string(maxlength=50):key>"


def _tag(tag_id: int) -> Tag:
    tag = get_session().get(Tag, tag_id)
    if tag is None:
        raise errors.not_found("tag", tag_id)
    return tag


@blp.route(f"/friends/{ID}/tags/{TAG}", methods=["PUT"])
@auth.guard(blp, "friends.edit")
@blp.response(200, Changed)
@blp.alt_response(404, schema=ErrorSchema)
def add_tag(friend_id: int, tag_id: int):
    """Put a tag on a friend (changed is false when the friend already had it)."""
    db, friend, tag = get_session(), get_friend(friend_id), _tag(tag_id)
    with unit_of_work():
        changed = tag_service.add_tag(db, friend_id=friend.id, tag_id=tag.id, actor=auth.actor())
    return {"changed": changed}


@blp.route(f"/friends/{ID}/tags/{TAG}", methods=["DELETE"])
@auth.guard(blp, "friends.edit")
@blp.response(200, Changed)
@blp.alt_response(404, schema=ErrorSchema)
def remove_tag(friend_id: int, tag_id: int):
    """Take a tag off a friend (changed is false when the friend did not have it)."""
    db, friend, tag = get_session(), get_friend(friend_id), _tag(tag_id)
    with unit_of_work():
        changed = tag_service.remove_tag(db, friend_id=friend.id, tag_id=tag.id, actor=auth.actor())
    return {"changed": changed}


@blp.route(f"/friends/{ID}/notes")
@auth.guard(blp, "friends.view")
@blp.arguments(PageArgs, location="query", as_kwargs=True)
@blp.response(200, page_of(NoteSchema))
@blp.alt_response(404, schema=ErrorSchema)
def list_notes(friend_id: int, limit: int, cursor: str | None = None):
    """A friend's notes, newest first (bodies are null for roles without personal data)."""
    friend, masked = get_friend(friend_id), auth.masked()
    rows = note_service.notes_for_friend(get_session(), friend_id=friend.id)
    rows, next_cursor = page_after(rows, cursor=cursor, limit=limit, key=lambda row: row[0].id)
    return {"data": [note_dict(note, author, masked) for note, author in rows], "next_cursor": next_cursor}


@blp.route(f"/friends/{ID}/notes", methods=["POST"])
@auth.guard(blp, "notes.write")
@blp.arguments(NoteCreate)
@blp.response(201, NoteSchema)
@blp.alt_response(404, schema=ErrorSchema)
def create_note(body: dict, friend_id: int):
    """Write a note on a friend (the audit log names the token)."""
    db, friend = get_session(), get_friend(friend_id)
    with unit_of_work(note_service.NoteError, friend_service.FriendErasedError) as work:
        friend_service.lock_living_friend(db, friend_id=friend.id)
        note = note_service.create_note(db, friend_id=friend.id, body=body["body"], actor=auth.actor())
    if work.failed:
        raise errors.domain_error(work.error, field="body")
    return note_dict(note, None, False)


@blp.route("/fields")
@auth.guard(blp, "friends.view")
@blp.response(200, FieldDefinitionSchema(many=True))
def list_fields():
    """The custom field definitions (友だち情報), in display order."""
    return [
        {
            "id": d.id,
            "key": d.key,
            "label": d.label,
            "type": d.field_type,
            "choices": field_service.choices_of(d),
            "required": d.required,
            "personal": d.personal,
        }
        for d in field_service.list_definitions(get_session())
    ]


def _definition(key: str) -> FieldDefinition:
    found = get_session().exec(select(FieldDefinition).where(FieldDefinition.key == key)).first()
    if found is None:
        raise errors.not_found("field", key)
    return found


def _value_of(friend_id: int, key: str) -> dict:
    return next(row for row in field_values(friend_id, auth.role()) if row["key"] == key)


class AttentionSet(ma.Schema):
    attention = fields.String(
        required=True,
        allow_none=True,
        validate=validate.OneOf((*attention.STATES, attention.CLEAR)),
        metadata={"description": "needed (要対応), in_progress (対応中), done (対応済), or none / null to clear"},
    )


@blp.route(f"/friends/{ID}/attention", methods=["PUT"])
@auth.guard(blp, "friends.edit")
@blp.arguments(AttentionSet)
@blp.response(200, Changed)
@blp.alt_response(404, schema=ErrorSchema)
def set_attention(body: dict, friend_id: int):
    """Set a friend's staff attention mark, or clear it (changed is false when it already was so)."""
    db, friend = get_session(), get_friend(friend_id)
    with unit_of_work(attention.AttentionError, friend_service.FriendErasedError) as work:
        friend_service.lock_living_friend(db, friend_id=friend.id)
        changed = attention.set_attention(
            db, friend_ids=[friend.id], state=attention.parse_state(body["attention"]), actor=auth.actor()
        )
    if work.failed:
        raise errors.domain_error(work.error, field="attention")
    return {"changed": bool(changed)}


@blp.route(f"/friends/{ID}/fields/{KEY}", methods=["PUT"])
@auth.guard(blp, "fields.set")
@blp.arguments(FieldSet)
@blp.response(200, FieldValueSchema)
@blp.alt_response(404, schema=ErrorSchema)
def set_field(body: dict, friend_id: int, key: str):
    """Set a friend's value for a field, checked against the field's type (number, date, choice, text)."""
    db, friend, definition = get_session(), get_friend(friend_id), _definition(key)
    with unit_of_work(field_service.FieldValidationError, friend_service.FriendErasedError) as work:
        friend_service.lock_living_friend(db, friend_id=friend.id)
        field_service.set_field_value(
            db, friend_id=friend.id, field_id=definition.id, raw_value=body["value"], actor=auth.actor()
        )
    if work.failed:
        raise errors.domain_error(work.error, field="value")
    return _value_of(friend.id, key)


@blp.route(f"/friends/{ID}/fields/{KEY}", methods=["DELETE"])
@auth.guard(blp, "fields.set")
@blp.response(200, Changed)
@blp.alt_response(404, schema=ErrorSchema)
def clear_field(friend_id: int, key: str):
    """Clear a friend's value for a field (422 for a required field; changed is false when there was none)."""
    db, friend, definition = get_session(), get_friend(friend_id), _definition(key)
    with unit_of_work(field_service.FieldValidationError) as work:
        changed = field_service.clear_field_value(db, friend_id=friend.id, field_id=definition.id, actor=auth.actor())
    if work.failed:
        raise errors.domain_error(work.error, field="value")
    return {"changed": changed}
