"""/api/v1/friends: the console's friend list filters and keyset pages, and one friend with everything known."""

from __future__ import annotations

import marshmallow as ma
from flask import current_app
from flask_smorest import Blueprint
from marshmallow import fields, validate

from crm.api import auth, errors
from crm.api.pages import bad_cursor
from crm.api.schemas import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    ErrorSchema,
    FriendDetailSchema,
    FriendSchema,
    Id,
    Text,
    When,
    page_of,
)
from crm.db import get_session, unit_of_work
from crm.fields import service as field_service
from crm.friends import notes as note_service
from crm.friends.extras import friend_extras
from crm.friends.models import Friend
from crm.friends.pages import DEFAULT_SORT, SORTS, Cursor, friend_page, tags_of
from crm.friends.query import (
    ATTENTION_FILTERS,
    MAX_DAYS,
    MAX_SEARCH_CHARS,
    STATUSES,
    FilterError,
    FriendFilter,
    check_filter,
)
from crm.permissions import masks_personal_data, visible_name
from crm.staff.audit import record
from crm.timeutil import utcnow

blp = Blueprint("api_friends", __name__, url_prefix="/api/v1", description="Friends (友だち)")
errors.install(blp)
ID = "<int(max=2147483647):friend_id>"
DETAIL_LIMIT = 50


class FriendQuery(ma.Schema):
    """The console's list filters; times are ISO 8601 (Asia/Tokyo when no offset is given)."""

    q = Text(validate=validate.Length(max=MAX_SEARCH_CHARS), metadata={"description": "Name contains"})
    status = fields.String(validate=validate.OneOf(STATUSES))
    tag_all = fields.List(
        Id(strict=False), validate=validate.Length(max=20), metadata={"description": "Has all these tags"}
    )
    tag_any = fields.List(
        Id(strict=False), validate=validate.Length(max=20), metadata={"description": "Has any of these"}
    )
    tag_none = fields.List(
        Id(strict=False), validate=validate.Length(max=20), metadata={"description": "Has none of these"}
    )
    followed_from = When()
    followed_before = When()
    interaction_from = When()
    interaction_before = When()
    interaction_within_days = fields.Integer(validate=validate.Range(0, MAX_DAYS))
    interaction_older_than_days = fields.Integer(validate=validate.Range(0, MAX_DAYS))
    attention = fields.String(
        validate=validate.OneOf(ATTENTION_FILTERS),
        metadata={"description": "Attention mark: needed, in_progress, done, or none (no mark)"},
    )
    sort = fields.String(load_default=DEFAULT_SORT, validate=validate.OneOf(list(SORTS)))
    limit = fields.Integer(load_default=DEFAULT_LIMIT, validate=validate.Range(1, MAX_LIMIT))
    cursor = Text(validate=validate.Length(max=60))


def to_filter(args: dict) -> FriendFilter:
    """The FriendFilter of the query arguments."""
    return FriendFilter(
        search=(args.get("q") or "").strip(),
        status=args.get("status"),
        tags_all=tuple(args.get("tag_all", ())),
        tags_any=tuple(args.get("tag_any", ())),
        tags_none=tuple(args.get("tag_none", ())),
        followed_from=args.get("followed_from"),
        followed_before=args.get("followed_before"),
        interaction_from=args.get("interaction_from"),
        interaction_before=args.get("interaction_before"),
        interaction_within_days=args.get("interaction_within_days"),
        interaction_older_than_days=args.get("interaction_older_than_days"),
        attention=args.get("attention"),
    )


def filter_error(error: FilterError) -> errors.ApiError:
    """A filter the service refuses: 422 with its code under "filter"."""
    return errors.domain_error(error, details={"filter": [error.code]})


def friend_dict(friend: Friend, tags: list, role: str) -> dict:
    """A friend as the API shows it to a role (masked: no LINE id, picture, or full name)."""
    masked = masks_personal_data(role)
    return {
        "id": friend.id,
        "status": friend.status,
        "language": friend.language,
        "line_user_id": None if masked else friend.line_user_id,
        "display_name": visible_name(friend, role),
        "picture_url": None if masked else friend.picture_url,
        "first_followed_at": friend.first_followed_at,
        "last_followed_at": friend.last_followed_at,
        "blocked_at": friend.blocked_at,
        "last_interaction_at": friend.last_interaction_at,
        "attention": friend.attention,
        "tags": [{"id": t.id, "name": t.name, "color": t.color} for t in tags],
    }


def get_friend(friend_id: int) -> Friend:
    """The friend or a 404."""
    friend = get_session().get(Friend, friend_id)
    if friend is None:
        raise errors.not_found("friend", friend_id)
    return friend


@blp.route("/friends")
@auth.guard(blp, "friends.view")
@blp.arguments(FriendQuery, location="query", as_kwargs=True)
@blp.response(200, page_of(FriendSchema))
def list_friends(**args):
    """List friends with the console's filters, newest follow first by default (keyset pages)."""
    db, now = get_session(), utcnow()
    flt = to_filter(args)
    if flt.search and auth.masked():  # a name search would reveal the names the role sees masked, as in the console
        raise errors.ApiError(403, "forbidden", "Searching by name is not available to this token's role.")
    try:
        after = Cursor.decode(args["cursor"]) if args.get("cursor") else None
    except FilterError:
        raise bad_cursor() from None
    try:
        check_filter(db, flt)
        page = friend_page(db, flt, now=now, sort=args["sort"], after=after, size=args["limit"])
    except FilterError as error:
        raise filter_error(error) from None
    tags = tags_of(db, [f.id for f in page.friends])
    if page.friends and not auth.masked():  # a page of names is a bulk view of personal data, as in the console
        with unit_of_work():
            record(
                db,
                actor=auth.actor(),
                action="friends.list_viewed",
                target_type="friend_list",
                after={"filter": flt.snapshot(), "rows": len(page.friends), "via": "api"},
            )
    data = [friend_dict(f, tags.get(f.id, []), auth.role()) for f in page.friends]
    return {"data": data, "next_cursor": page.next_cursor}


@blp.route(f"/friends/{ID}")
@auth.guard(blp, "friends.view")
@blp.response(200, FriendDetailSchema)
@blp.alt_response(404, schema=ErrorSchema)
def get_one(friend_id: int):
    """One friend with tags, field values, notes, survey responses and link clicks."""
    db, friend, masked = get_session(), get_friend(friend_id), auth.masked()
    body = friend_dict(friend, tags_of(db, [friend.id]).get(friend.id, []), auth.role())
    body["fields_"] = field_values(friend.id, auth.role())
    body["notes"] = [
        note_dict(note, author, masked)
        for note, author in note_service.notes_for_friend(db, friend_id=friend.id)[:DETAIL_LIMIT]
    ]
    body.update(friend_extras(current_app).detail(db, friend.id, masked=masked, limit=DETAIL_LIMIT))
    return body


def field_values(friend_id: int, role: str) -> list[dict]:
    """A friend's field values as this role may see them: personal ones null and flagged masked."""
    rows = []
    for d, v in field_service.values_for_friend(get_session(), friend_id=friend_id):
        hidden = v is not None and field_service.hidden_from(d, role)
        value = None if v is None or hidden else v.value
        rows.append(
            {"field_id": d.id, "key": d.key, "label": d.label, "type": d.field_type, "value": value, "masked": hidden}
        )
    return rows


def note_dict(note, author: str | None, masked: bool) -> dict:
    return {
        "id": note.id,
        "body": None if masked else note.body,
        "author": author,
        "created_at": note.created_at,
        "updated_at": note.updated_at,
    }
