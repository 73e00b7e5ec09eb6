"""/api/v1/templates: message templates listed (by folder and name, with search) and read, with their messages
ready to send (uploaded images as absolute URLs under PUBLIC_BASE_URL)."""

from __future__ import annotations

import marshmallow as ma
from flask import current_app
from flask_smorest import Blueprint
from marshmallow import fields, validate

from crm.api import auth, errors
from crm.api.pages import page_after
from crm.api.schemas import ErrorSchema, PageArgs, Text, page_of
from crm.db import get_session
from crm.message_templates import service
from crm.message_templates.models import MessageTemplate

blp = Blueprint("api_templates", __name__, url_prefix="/api/v1", description="Message templates (テンプレート)")
errors.install(blp)
ID = "<int(max=2147483647):template_id>"


class TemplateArgs(PageArgs):
    folder = Text(validate=validate.Length(max=100), metadata={"description": "Only this folder"})
    q = Text(validate=validate.Length(max=100), metadata={"description": "Words in the name or the messages"})
    archived = fields.Boolean(load_default=False, metadata={"description": "Archived templates instead"})


class TemplateSchema(ma.Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    folder = fields.String(required=True, allow_none=True)
    archived = fields.Boolean(required=True)
    messages = fields.List(
        fields.Dict(), required=True, metadata={"description": "1-5 LINE message objects, ready to send"}
    )
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)


def template_dict(template: MessageTemplate) -> dict:
    return {
        "id": template.id,
        "name": template.name,
        "folder": template.folder,
        "archived": template.archived,
        "messages": service.messages_for_sending(template, base_url=current_app.config["PUBLIC_BASE_URL"]),
        "created_at": template.created_at,
        "updated_at": template.updated_at,
    }


@blp.route("/templates")
@auth.guard(blp, "templates.edit")
@blp.arguments(TemplateArgs, location="query", as_kwargs=True)
@blp.response(200, page_of(TemplateSchema))
def list_templates(limit: int, cursor: str | None = None, folder=None, q=None, archived=False):
    """Templates by folder and name."""
    rows = service.list_templates(get_session(), folder=folder, search=q, archived=archived)
    rows, next_cursor = page_after(rows, cursor=cursor, limit=limit)
    return {"data": [template_dict(template) for template in rows], "next_cursor": next_cursor}


@blp.route(f"/templates/{ID}")
@auth.guard(blp, "templates.edit")
@blp.response(200, TemplateSchema)
@blp.alt_response(404, schema=ErrorSchema)
def get_one(template_id: int):
    """One template with its messages."""
    template = get_session().get(MessageTemplate, template_id)
    if template is None:
        raise errors.not_found("template", template_id)
    return template_dict(template)
