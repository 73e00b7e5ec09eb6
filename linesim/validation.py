"""Request bodies: parsed with the SDK's own models after LINE's limits the models don't enforce."""

from __future__ import annotations

import json

from flask import request
from linebot.v3.messaging import (
    BroadcastRequest,
    CreateRichMenuAliasRequest,
    MulticastRequest,
    NarrowcastRequest,
    PushMessageRequest,
    ReplyMessageRequest,
    RichMenuBulkLinkRequest,
    RichMenuBulkUnlinkRequest,
    RichMenuRequest,
    ShowLoadingAnimationRequest,
    UpdateRichMenuAliasRequest,
)
from pydantic.v1 import ValidationError

from linesim.errors import LineError, invalid_body
from linesim.limits import Problems, check_action, check_send

MAX_BODY_BYTES = 2 * 1024 * 1024
SEND_KINDS = ("reply", "push", "multicast", "narrowcast", "broadcast")
MODELS = {
    "reply": ReplyMessageRequest,
    "push": PushMessageRequest,
    "multicast": MulticastRequest,
    "narrowcast": NarrowcastRequest,
    "broadcast": BroadcastRequest,
    "richmenu": RichMenuRequest,
    "bulk_link": RichMenuBulkLinkRequest,
    "bulk_unlink": RichMenuBulkUnlinkRequest,
    "alias_create": CreateRichMenuAliasRequest,
    "alias_update": UpdateRichMenuAliasRequest,
    "loading": ShowLoadingAnimationRequest,
}


def read_json() -> dict:
    """The request's JSON object, or LINE's 413/400."""
    raw = request.get_data()
    if len(raw) > MAX_BODY_BYTES:
        raise LineError(413, "Request Entity Too Large")
    try:
        body = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise LineError(400, "The request body could not be parsed as JSON (line: 1, column: 1)") from None
    except json.JSONDecodeError as error:
        raise LineError(
            400, f"The request body could not be parsed as JSON (line: {error.lineno}, column: {error.colno})"
        ) from None
    if not isinstance(body, dict):
        raise LineError(400, "The request body could not be parsed as JSON (line: 1, column: 1)")
    return body


def validated(kind: str, body: dict):
    """Check LINE's limits, then parse with the SDK model; raise LINE's 400 on any error."""
    problems = Problems()
    if kind in SEND_KINDS:
        check_send(body, kind, problems)
    elif kind == "richmenu":
        check_rich_menu(body, problems)
    elif kind in ("bulk_link", "bulk_unlink"):
        problems.size(body, "userIds", "", 500, 1)
    if problems:
        raise invalid_body(problems)
    try:
        return MODELS[kind].from_dict(body)
    except ValidationError as error:
        raise invalid_body([sdk_detail(item) for item in error.errors()]) from None
    except (ValueError, TypeError, KeyError, AttributeError) as error:
        raise invalid_body([{"message": str(error)[:300], "property": ""}]) from None


def sdk_detail(item: dict) -> dict:
    """One pydantic error as a LINE error detail."""
    prop = ""
    for part in item.get("loc", ()):
        prop += f"[{part}]" if isinstance(part, int) else (f".{part}" if prop else str(part))
    message = "must be specified" if item.get("type") == "value_error.missing" else item.get("msg", "invalid")
    return {"message": message, "property": prop}


def check_rich_menu(menu: dict, problems: Problems) -> None:
    """Limits of a rich menu object: size, name, chat bar text, areas and their bounds and actions."""
    for key in ("size", "selected", "name", "chatBarText", "areas"):
        problems.required(menu, key, "")
    problems.length(menu, "name", "", 300)
    problems.length(menu, "chatBarText", "", 14)
    problems.size(menu, "areas", "", 20)
    size = menu.get("size") if isinstance(menu.get("size"), dict) else {}
    width, height = size.get("width"), size.get("height")
    if isinstance(width, int) and isinstance(height, int):
        if not 800 <= width <= 2500:
            problems.add("size.width", "Must be between 800 and 2500")
        if height < 250:
            problems.add("size.height", "Must be at least 250")
        if height > 0 and width / height < 1.45:
            problems.add("size", "The aspect ratio (width / height) must be at least 1.45")
    for index, area in enumerate(menu.get("areas") if isinstance(menu.get("areas"), list) else []):
        if isinstance(area, dict):
            check_area(area, f"areas[{index}]", width, height, problems)


def check_area(area: dict, path: str, width, height, problems: Problems) -> None:
    """An area needs bounds inside the menu and an action."""
    problems.required(area, "bounds", path)
    if problems.required(area, "action", path):
        check_action(area["action"], f"{path}.action", 20, problems)
    bounds = area.get("bounds")
    if not isinstance(bounds, dict) or not isinstance(width, int) or not isinstance(height, int):
        return
    values = [bounds.get(key) for key in ("x", "y", "width", "height")]
    if all(isinstance(value, int) for value in values):
        x, y, w, h = values
        if x + w > width or y + h > height:
            problems.add(f"{path}.bounds", "The area must be inside the rich menu")
