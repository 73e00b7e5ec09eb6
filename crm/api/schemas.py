"""Marshmallow schemas of the API: request arguments (validated by webargs) and responses (documented and dumped).

Strings refuse NUL characters and lone surrogates, which databases cannot store; ids are 32-bit like the columns."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from crm.timeutil import TOKYO

MAX_ID = 2**31 - 1
MAX_LIMIT = 200
DEFAULT_LIMIT = 50


class Text(fields.String):
    """A string the database can store."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if "\x00" in text:
            raise ma.ValidationError("NUL characters are not allowed.")
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise ma.ValidationError("Not valid Unicode text.") from None
        return text


def Id(strict: bool = True, **kwargs) -> fields.Integer:
    """A row id (strict in JSON bodies; query strings are text)."""
    return fields.Integer(strict=strict, validate=validate.Range(1, MAX_ID), **kwargs)


def When(**kwargs) -> fields.AwareDateTime:
    """An ISO 8601 time; without an offset it is read as Asia/Tokyo. Always answered in UTC."""
    return fields.AwareDateTime(default_timezone=TOKYO, **kwargs)


class ErrorBody(ma.Schema):
    code = fields.String(required=True, metadata={"description": "Stable machine-readable code"})
    message = fields.String(required=True, metadata={"description": "What went wrong, in English"})
    details = fields.Dict(required=True, metadata={"description": "Per-field problems, when there are any"})


class ErrorSchema(ma.Schema):
    """Every error answer."""

    error = fields.Nested(ErrorBody, required=True)


class PageArgs(ma.Schema):
    """Cursor pagination: pass a page's next_cursor to get the following page."""

    limit = fields.Integer(load_default=DEFAULT_LIMIT, validate=validate.Range(1, MAX_LIMIT))
    cursor = Text(validate=validate.Length(max=100))


def page_of(item_schema) -> type[ma.Schema]:
    """A page schema: the items and the cursor of the next page (null on the last page)."""
    return ma.Schema.from_dict(
        {
            "data": fields.List(fields.Nested(item_schema), required=True),
            "next_cursor": fields.String(required=True, allow_none=True),
        },
        name=f"{item_schema.__name__.removesuffix('Schema')}Page",
    )


class TagRef(ma.Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    color = fields.String(required=True)


class TagSchema(TagRef):
    folder_id = fields.Integer(required=True, allow_none=True)
    description = fields.String(required=True, allow_none=True)
    friend_count = fields.Integer(required=True)


class TagCreate(ma.Schema):
    name = Text(required=True, validate=validate.Length(max=200))
    color = Text(validate=validate.Length(max=20))
    description = Text(allow_none=True, validate=validate.Length(max=1000))
    folder_id = Id(allow_none=True)


class TagUpdate(ma.Schema):
    name = Text(validate=validate.Length(max=200))
    color = Text(validate=validate.Length(max=20))
    description = Text(allow_none=True, validate=validate.Length(max=1000))
    folder_id = Id(allow_none=True)


class TagDeleted(ma.Schema):
    friends_untagged = fields.Integer(required=True)


class Changed(ma.Schema):
    changed = fields.Boolean(required=True, metadata={"description": "False when it was already so"})


class FriendSchema(ma.Schema):
    """A friend; for roles without personal data the name is masked and the LINE id and picture are null."""

    id = fields.Integer(required=True)
    line_user_id = fields.String(required=True, allow_none=True)
    display_name = fields.String(required=True, allow_none=True)
    picture_url = fields.String(required=True, allow_none=True)
    status = fields.String(required=True)
    language = fields.String(required=True, allow_none=True)
    first_followed_at = fields.DateTime(required=True, allow_none=True)
    last_followed_at = fields.DateTime(required=True, allow_none=True)
    blocked_at = fields.DateTime(required=True, allow_none=True)
    last_interaction_at = fields.DateTime(required=True, allow_none=True)
    attention = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "Staff attention mark: needed (要対応), in_progress (対応中), done (対応済) or null"},
    )
    tags = fields.List(fields.Nested(TagRef), required=True)


class FieldValueSchema(ma.Schema):
    field_id = fields.Integer(required=True)
    key = fields.String(required=True)
    label = fields.String(required=True)
    type = fields.String(required=True)
    value = fields.String(required=True, allow_none=True, metadata={"description": "Null when unset or masked"})
    masked = fields.Boolean(
        required=True, metadata={"description": "A personal field's value hidden from this token's role"}
    )


class NoteSchema(ma.Schema):
    """A note; its body is null for roles without personal data."""

    id = fields.Integer(required=True)
    body = fields.String(required=True, allow_none=True)
    author = fields.String(required=True, allow_none=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True, allow_none=True)


class NoteCreate(ma.Schema):
    body = Text(required=True, validate=validate.Length(max=20000))


class AnswerSchema(ma.Schema):
    question_id = fields.Integer(required=True)
    question = fields.String(required=True)
    kind = fields.String(required=True)
    values = fields.List(
        fields.String(),
        required=True,
        allow_none=True,
        metadata={"description": "Choice labels or the text; null when hidden from the role"},
    )


class FriendResponseSchema(ma.Schema):
    response_id = fields.Integer(required=True)
    survey_id = fields.Integer(required=True)
    survey_title = fields.String(required=True)
    status = fields.String(required=True)
    started_at = fields.DateTime(required=True)
    finished_at = fields.DateTime(required=True, allow_none=True)
    answers = fields.List(fields.Nested(AnswerSchema), required=True)


class ClickSchema(ma.Schema):
    clicked_at = fields.DateTime(required=True)
    destination = fields.String(required=True)
    source = fields.String(required=True, allow_none=True)
    link_id = fields.Integer(required=True)
    broadcast_id = fields.Integer(required=True, allow_none=True)
    user_agent = fields.String(required=True, allow_none=True)


class FriendDetailSchema(FriendSchema):
    fields_ = fields.List(fields.Nested(FieldValueSchema), required=True, data_key="fields")
    notes = fields.List(fields.Nested(NoteSchema), required=True)
    survey_responses = fields.List(fields.Nested(FriendResponseSchema), required=True)
    clicks = fields.List(fields.Nested(ClickSchema), required=True)


class FieldSet(ma.Schema):
    value = Text(required=True, validate=validate.Length(max=2000))


class FieldDefinitionSchema(ma.Schema):
    id = fields.Integer(required=True)
    key = fields.String(required=True)
    label = fields.String(required=True)
    type = fields.String(required=True)
    choices = fields.List(fields.String(), required=True)
    required = fields.Boolean(required=True)
    personal = fields.Boolean(
        required=True, metadata={"description": "Personal data: masked for roles without personal-data access"}
    )


class SurveySchema(ma.Schema):
    id = fields.Integer(required=True)
    title = fields.String(required=True)
    status = fields.String(required=True)
    keyword = fields.String(required=True, allow_none=True)
    created_at = fields.DateTime(required=True)


class SurveyResponseSchema(ma.Schema):
    """A response to a survey; the friend's name masked and free text null for roles without personal data."""

    id = fields.Integer(required=True)
    friend_id = fields.Integer(required=True)
    friend_name = fields.String(required=True, allow_none=True)
    channel = fields.String(required=True)
    status = fields.String(required=True)
    started_at = fields.DateTime(required=True)
    finished_at = fields.DateTime(required=True, allow_none=True)
    answers = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.String(), allow_none=True),
        required=True,
        metadata={"description": "Question id → choice labels or text (null when hidden)"},
    )
