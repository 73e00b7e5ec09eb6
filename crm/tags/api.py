"""/api/v1/tags: list, create, rename (or recolour, move, describe), delete — through the console's tag service;
its refusals become 404 (no such tag), 409 (the name is taken) or 422 through the API's domain error handler."""

from __future__ import annotations

from flask_smorest import Blueprint
from sqlmodel import select

from crm.api import auth, errors
from crm.api.pages import decode_id_cursor, page
from crm.api.schemas import ErrorSchema, PageArgs, TagCreate, TagDeleted, TagSchema, TagUpdate, page_of
from crm.db import get_session, unit_of_work
from crm.tags import admin as tag_admin
from crm.tags.models import Tag

blp = Blueprint("api_tags", __name__, url_prefix="/api/v1", description="Tags (タグ)")
errors.install(blp)
ID = "<int(max=2147483647):tag_id>"


def tag_dict(tag: Tag) -> dict:
    return {
        "id": tag.id,
        "name": tag.name,
        "color": tag.color,
        "folder_id": tag.folder_id,
        "description": tag.description,
        "friend_count": max(0, tag.friend_count),
    }


@blp.route("/tags")
@auth.guard(blp, "tags.view")
@blp.arguments(PageArgs, location="query", as_kwargs=True)
@blp.response(200, page_of(TagSchema))
def list_tags(limit: int, cursor: str | None = None):
    """All tags by id."""
    after = decode_id_cursor(cursor) or 0
    rows = get_session().exec(select(Tag).where(Tag.id > after).order_by(Tag.id).limit(limit + 1)).all()
    rows, next_cursor = page(list(rows), limit=limit)
    return {"data": [tag_dict(tag) for tag in rows], "next_cursor": next_cursor}


@blp.route("/tags", methods=["POST"])
@auth.guard(blp, "tags.manage")
@blp.arguments(TagCreate)
@blp.response(201, TagSchema)
@blp.alt_response(409, schema=ErrorSchema, description="The name is taken (ignoring case and width)")
def create_tag(body: dict):
    """Create a tag."""
    db = get_session()
    with unit_of_work():
        tag = tag_admin.create_tag(db, actor=auth.actor(), **body)
    return tag_dict(tag)


@blp.route(f"/tags/{ID}", methods=["PATCH"])
@auth.guard(blp, "tags.manage")
@blp.arguments(TagUpdate)
@blp.response(200, TagSchema)
@blp.alt_response(404, schema=ErrorSchema)
@blp.alt_response(409, schema=ErrorSchema, description="The name is taken (ignoring case and width)")
def update_tag(body: dict, tag_id: int):
    """Rename a tag, or change its colour, folder or description (fields left out stay as they are)."""
    db = get_session()
    with unit_of_work():
        tag = tag_admin.get_tag(db, tag_id)
        changes = {
            **{"name": tag.name, "folder_id": tag.folder_id, "description": tag.description, "color": tag.color},
            **body,
        }
        tag = tag_admin.update_tag(db, tag_id=tag_id, actor=auth.actor(), **changes)
    return tag_dict(tag)


@blp.route(f"/tags/{ID}", methods=["DELETE"])
@auth.guard(blp, "tags.manage")
@blp.response(200, TagDeleted)
@blp.alt_response(404, schema=ErrorSchema)
def delete_tag(tag_id: int):
    """Delete a tag, untagging every friend who has it."""
    db = get_session()
    with unit_of_work():
        removed = tag_admin.delete_tag(db, tag_id=tag_id, actor=auth.actor())
    return {"friends_untagged": removed}
