"""/api/v1/tags: list, create, rename (or recolour, move, describe), delete — through the console's tag service."""

from __future__ import annotations

from flask_smorest import Blueprint
from sqlmodel import select

from crm.api import auth, errors
from crm.api.pages import decode_id_cursor, page
from crm.api.schemas import ErrorSchema, PageArgs, TagCreate, TagDeleted, TagSchema, TagUpdate, page_of
from crm.db import get_session
from crm.tags import admin as tag_admin
from crm.tags.admin import TagAdminError
from crm.tags.models import Tag

blp = Blueprint("api_tags", __name__, url_prefix="/api/v1", description="Tags (タグ)")
errors.install(blp)
ID = "<int(max=2147483647):tag_id>"
STATUS_BY_CODE = {"not_found": 404, "no_folder": 422, "duplicate_name": 409}


def tag_error(error: TagAdminError) -> errors.ApiError:
    """A service refusal as an API error: 409 for a taken name, 404 for a missing tag, else 422."""
    return errors.ApiError(STATUS_BY_CODE.get(error.code, 422), error.code, str(error))


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
    try:
        tag = tag_admin.create_tag(db, actor=auth.actor(), **body)
    except TagAdminError as error:
        raise tag_error(error) from None
    db.commit()
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
    try:
        tag = tag_admin.get_tag(db, tag_id)
        changes = {
            **{"name": tag.name, "folder_id": tag.folder_id, "description": tag.description, "color": tag.color},
            **body,
        }
        tag = tag_admin.update_tag(db, tag_id=tag_id, actor=auth.actor(), **changes)
    except TagAdminError as error:
        raise tag_error(error) from None
    db.commit()
    return tag_dict(tag)


@blp.route(f"/tags/{ID}", methods=["DELETE"])
@auth.guard(blp, "tags.manage")
@blp.response(200, TagDeleted)
@blp.alt_response(404, schema=ErrorSchema)
def delete_tag(tag_id: int):
    """Delete a tag, untagging every friend who has it."""
    db = get_session()
    try:
        removed = tag_admin.delete_tag(db, tag_id=tag_id, actor=auth.actor())
    except TagAdminError as error:
        raise tag_error(error) from None
    db.commit()
    return {"friends_untagged": removed}
