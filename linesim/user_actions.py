"""What a simulated user does in LINE, each turned into a complete webhook event and sent."""

from __future__ import annotations

import datetime as dt

from linesim import ids
from linesim.errors import SimError
from linesim.events import event, message_content, user_source
from linesim.images import sample_photo
from linesim.state import SimState
from linesim.webhook_sender import dispatch

PICKER_FORMATS = {"date": "%Y-%m-%d", "time": "%H:%M", "datetime": "%Y-%m-%dT%H:%M"}


def send_event(state: SimState, built: dict) -> dict:
    """Post one event; the CRM's answer together with the event."""
    return {**dispatch(state, [built]), "event": built}


def active_user(state: SimState, user_id: str):
    """The user, who must not have blocked the account (a blocked chat can't be used)."""
    user = state.user(user_id)
    if user.status == "blocked":
        raise SimError(409, "the user has blocked the account; follow (unblock) first")
    return user


def follow(state: SimState, user_id: str) -> dict:
    """Add the account as a friend, or unblock it (isUnblocked true)."""
    with state.lock:
        user = state.user(user_id)
        if user.status == "following":
            raise SimError(409, "the user already follows the account")
        unblocked, user.status = user.status == "blocked", "following"
        built = event("follow", user_source(user_id), follow={"isUnblocked": unblocked})
        state.note_user_action(user_id, {"kind": "follow", "isUnblocked": unblocked})
    return send_event(state, built)


def unfollow(state: SimState, user_id: str) -> dict:
    """Block the account."""
    with state.lock:
        user = state.user(user_id)
        if user.status != "following":
            raise SimError(409, "the user does not follow the account")
        user.status = "blocked"
        state.richmenus.switched.pop(user_id, None)
        built = event("unfollow", user_source(user_id))
        state.note_user_action(user_id, {"kind": "unfollow"})
    return send_event(state, built)


def send_message(state: SimState, user_id: str, data: dict, image: tuple[bytes, str] | None = None) -> dict:
    """Send a message ({"text": ...} or {"type": "sticker"|"image"|..., ...}) to the account.

    An image, video, voice message or file sent through LINE keeps its bytes (`image`: bytes and content type; a
    sample of the kind by default), served to the bot at GET /v2/bot/message/{id}/content, and images and videos
    a preview image at .../content/preview; a file's size is its bytes' unless given."""
    content = message_content(data)
    with state.lock:
        user = active_user(state, user_id)
        user.last_message_at = ids.now_ms()
        provider = content.get("contentProvider", {"type": "line"} if content["type"] == "file" else None)
        if content["type"] in SAMPLE_CONTENT and isinstance(provider, dict) and provider.get("type") == "line":
            kept = image or SAMPLE_CONTENT[content["type"]]()
            state.contents[content["id"]] = kept
            if content["type"] in ("image", "video"):
                state.previews[content["id"]] = kept if content["type"] == "image" else (sample_photo(), "image/png")
            if content["type"] == "file" and "fileSize" not in data:
                content["fileSize"] = len(kept[0])
        built = event("message", user_source(user_id), message=content)
        state.note_user_action(user_id, {"kind": "message", "message": content})
    return send_event(state, built)


# What a simulated user sends when no bytes are given: the sample photo, a tiny MP4 and M4A (headers only: enough
# for the CRM, which only passes them on) and a short text file.
SAMPLE_CONTENT = {
    "image": lambda: (sample_photo(), "image/png"),
    "video": lambda: (b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + bytes(1000), "video/mp4"),
    "audio": lambda: (b"\x00\x00\x00\x18ftypM4A \x00\x00\x00\x00M4A isom" + bytes(500), "audio/x-m4a"),
    "file": lambda: ("見積書のサンプル\n".encode() * 20, "text/plain"),
}


def postback(
    state: SimState, user_id: str, data: str, params: dict | None = None, display_text: str | None = None
) -> dict:
    """Tap a postback button; displayText shows in the chat as the user's words but sends no message event."""
    body = {"data": data, **({"params": params} if params else {})}
    with state.lock:
        active_user(state, user_id)
        built = event("postback", user_source(user_id), postback=body)
        state.note_user_action(user_id, {"kind": "postback", "data": data, "displayText": display_text})
    return send_event(state, built)


def unsend(state: SimState, user_id: str, message_id: str | None = None) -> dict:
    """Unsend a message the user sent (by default the last one)."""
    with state.lock:
        active_user(state, user_id)
        sent = [entry["message"]["id"] for entry in state.timelines[user_id] if entry.get("kind") == "message"]
        message_id = message_id or (sent[-1] if sent else None)
        if message_id is None:
            raise SimError(409, "the user has sent no message to unsend")
        built = event("unsend", user_source(user_id), unsend={"messageId": message_id})
        state.note_user_action(user_id, {"kind": "unsend", "messageId": message_id})
    return send_event(state, built)


def switch_rich_menu(state: SimState, user_id: str, alias_id: str, data: str) -> dict:
    """A richmenuswitch tap: show the alias's menu, and post data with newRichMenuAliasId and status."""
    with state.lock:
        active_user(state, user_id)
        status = state.richmenus.switch(user_id, alias_id)
    return postback(state, user_id, data, {"newRichMenuAliasId": alias_id, "status": status})


def perform_action(state: SimState, user_id: str, action: dict, params: dict | None = None) -> dict:
    """Tap an action object (quick reply, template button, flex button, rich menu area)."""
    kind = action.get("type")
    if kind == "message":
        return send_message(state, user_id, {"text": action.get("text", "")})
    if kind == "postback":
        return postback(state, user_id, action.get("data", ""), None, action.get("displayText"))
    if kind == "datetimepicker":
        return postback(state, user_id, action.get("data", ""), params or picker_params(action))
    if kind == "richmenuswitch":
        return switch_rich_menu(state, user_id, action.get("richMenuAliasId", ""), action.get("data", ""))
    if kind == "location":
        return send_message(state, user_id, {"type": "location"})
    if kind in ("camera", "cameraRoll"):
        return send_message(state, user_id, {"type": "image"})
    if kind in ("uri", "clipboard"):
        return {
            "status": None,
            "elapsedMs": 0.0,
            "error": None,
            "event": None,
            "uri": action.get("uri"),
            "clipboardText": action.get("clipboardText"),
        }
    raise SimError(400, f"unsupported action type {kind!r}")


def picker_params(action: dict) -> dict:
    """The params a datetime picker sends when the user accepts its initial value (or now)."""
    mode = action.get("mode", "datetime")
    value = action.get("initial") or dt.datetime.now().strftime(PICKER_FORMATS.get(mode, PICKER_FORMATS["datetime"]))
    return {mode: value}


def tap_rich_menu(state: SimState, user_id: str, area: int) -> dict:
    """Tap area number `area` of the rich menu the user sees."""
    with state.lock:
        menu_id, _ = state.richmenus.displayed(user_id)
        if menu_id is None:
            raise SimError(404, "the user sees no rich menu")
        areas = state.richmenus.menus[menu_id]["areas"]
        if not 0 <= area < len(areas):
            raise SimError(400, f"the rich menu has {len(areas)} areas")
        action = areas[area]["action"]
    return perform_action(state, user_id, action)
