"""The Messaging API's rich menu endpoints, at LINE's paths."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from linesim.images import check_rich_menu_image
from linesim.state import current_state
from linesim.validation import read_json, validated

bp = Blueprint("richmenu", __name__)


def store():
    """The rich menu store of this simulator."""
    return current_state().richmenus


def locked():
    """The state lock, held while rich menus change."""
    return current_state().lock


@bp.post("/v2/bot/richmenu")
def richmenu_create():
    """Create a rich menu; answers its ID."""
    body = read_json()
    validated("richmenu", body)
    with locked():
        return jsonify({"richMenuId": store().create(body)})


@bp.post("/v2/bot/richmenu/validate")
def richmenu_validate():
    """Check a rich menu object without creating it."""
    validated("richmenu", read_json())
    return jsonify({})


@bp.get("/v2/bot/richmenu/list")
def richmenu_list():
    """Every rich menu of the channel."""
    with locked():
        return jsonify({"richmenus": list(store().menus.values())})


@bp.get("/v2/bot/richmenu/<menu_id>")
def richmenu_get(menu_id: str):
    """One rich menu."""
    with locked():
        return jsonify(store().get(menu_id))


@bp.delete("/v2/bot/richmenu/<menu_id>")
def richmenu_delete(menu_id: str):
    """Delete a rich menu."""
    with locked():
        store().delete(menu_id)
    return jsonify({})


@bp.post("/v2/bot/richmenu/<menu_id>/content")
def richmenu_image_upload(menu_id: str):
    """Attach the menu's image (JPEG/PNG, checked against LINE's rules); it can't be replaced."""
    data = request.get_data()
    with locked():
        menu = store().get(menu_id)
        check_rich_menu_image(data, request.content_type or "", menu["size"])
        store().set_image(menu_id, data, request.content_type.split(";")[0].strip().lower())
    return jsonify({})


@bp.get("/v2/bot/richmenu/<menu_id>/content")
def richmenu_image_download(menu_id: str):
    """Download the menu's image."""
    with locked():
        data, content_type = store().image(menu_id)
    return Response(data, mimetype=content_type)


@bp.post("/v2/bot/user/all/richmenu/<menu_id>")
def richmenu_default_set(menu_id: str):
    """Make a menu everyone's default."""
    with locked():
        store().set_default(menu_id)
    return jsonify({})


@bp.get("/v2/bot/user/all/richmenu")
def richmenu_default_get():
    """The default menu's ID."""
    with locked():
        return jsonify({"richMenuId": store().get_default()})


@bp.delete("/v2/bot/user/all/richmenu")
def richmenu_default_clear():
    """Clear the default menu."""
    with locked():
        store().default = None
    return jsonify({})


@bp.post("/v2/bot/user/<user_id>/richmenu/<menu_id>")
def richmenu_link(user_id: str, menu_id: str):
    """Link a menu to one user (immediately; also for non-friends, as on LINE)."""
    with locked():
        store().link([user_id], menu_id)
    return jsonify({})


@bp.get("/v2/bot/user/<user_id>/richmenu")
def richmenu_linked(user_id: str):
    """The menu linked to a user."""
    with locked():
        return jsonify({"richMenuId": store().linked(user_id)})


@bp.delete("/v2/bot/user/<user_id>/richmenu")
def richmenu_unlink(user_id: str):
    """Unlink a user's menu."""
    with locked():
        store().unlink([user_id])
    return jsonify({})


@bp.post("/v2/bot/richmenu/bulk/link")
def richmenu_bulk_link():
    """Link a menu to up to 500 users (202; applied at once here)."""
    body = read_json()
    validated("bulk_link", body)
    with locked():
        store().link(body["userIds"], body["richMenuId"])
    return jsonify({}), 202


@bp.post("/v2/bot/richmenu/bulk/unlink")
def richmenu_bulk_unlink():
    """Unlink up to 500 users' menus (202)."""
    body = read_json()
    validated("bulk_unlink", body)
    with locked():
        store().unlink(body["userIds"])
    return jsonify({}), 202


@bp.post("/v2/bot/richmenu/alias")
def richmenu_alias_create():
    """Create an alias for a menu (used by richmenuswitch actions)."""
    body = read_json()
    validated("alias_create", body)
    with locked():
        store().create_alias(body["richMenuAliasId"], body["richMenuId"])
    return jsonify({})


@bp.get("/v2/bot/richmenu/alias/list")
def richmenu_alias_list():
    """Every alias."""
    with locked():
        aliases = [store().alias(alias_id) for alias_id in store().aliases]
    return jsonify({"aliases": aliases})


@bp.post("/v2/bot/richmenu/alias/<alias_id>")
def richmenu_alias_update(alias_id: str):
    """Point an alias at another menu."""
    body = read_json()
    validated("alias_update", body)
    with locked():
        store().update_alias(alias_id, body["richMenuId"])
    return jsonify({})


@bp.get("/v2/bot/richmenu/alias/<alias_id>")
def richmenu_alias_get(alias_id: str):
    """One alias."""
    with locked():
        return jsonify(store().alias(alias_id))


@bp.delete("/v2/bot/richmenu/alias/<alias_id>")
def richmenu_alias_delete(alias_id: str):
    """Delete an alias."""
    with locked():
        store().delete_alias(alias_id)
    return jsonify({})
