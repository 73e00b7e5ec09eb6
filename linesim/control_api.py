"""Control API, users side: create simulated friends, act as them, read what they received."""

from __future__ import annotations

import base64
import binascii

from flask import Blueprint, jsonify, request

from linesim import user_actions
from linesim.errors import SimError
from linesim.events import complete
from linesim.origin import check_control_request
from linesim.state import current_state
from linesim.webhook_sender import dispatch, redeliver

bp = Blueprint("control", __name__, url_prefix="/_sim")
bp.before_request(check_control_request)
USER_MESSAGE_TYPES = ("text", "image", "video", "audio", "file", "location", "sticker")
IMAGE_TYPES = ("image/jpeg", "image/png", "image/gif")
MAX_SENT_IMAGE_BYTES = 10 * 1024 * 1024


def payload() -> dict:
    """The request's JSON object (empty when there is no body)."""
    data = request.get_json(silent=True)
    if data is None and request.get_data():
        raise SimError(400, "the body must be JSON")
    if data is not None and not isinstance(data, dict):
        raise SimError(400, "the body must be a JSON object")
    return data or {}


def text_field(data: dict, key: str, *, required: bool = False) -> str | None:
    """A string property of the request, checked."""
    value = data.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value.strip()):
        raise SimError(400, f"{key} must be a non-empty string" if required else f"{key} must be a string")
    return value


@bp.post("/users")
def create_user():
    """Create a simulated LINE user (not yet a friend)."""
    data = payload()
    user = current_state().add_user(
        display_name=text_field(data, "displayName", required=True),
        picture_url=text_field(data, "pictureUrl"),
        language=text_field(data, "language"),
        status_message=text_field(data, "statusMessage"),
        profile_consent=bool(data.get("profileConsent", True)),
        is_test_friend=bool(data.get("isTestFriend", False)),
    )
    return jsonify(user.to_dict()), 201


@bp.get("/users")
def list_users():
    """Every simulated user."""
    state = current_state()
    with state.lock:
        return jsonify({"users": [user.to_dict() for user in state.users.values()]})


@bp.get("/users/<user_id>")
def get_user(user_id: str):
    """One simulated user."""
    return jsonify(current_state().user(user_id).to_dict())


@bp.post("/users/<user_id>/follow")
def follow(user_id: str):
    """Add the account as a friend (or unblock it)."""
    return jsonify(user_actions.follow(current_state(), user_id))


@bp.post("/users/<user_id>/unfollow")
def unfollow(user_id: str):
    """Block the account."""
    return jsonify(user_actions.unfollow(current_state(), user_id))


@bp.post("/users/<user_id>/messages")
def send_message(user_id: str):
    """Send a message: {"text": ...} or a message object {"type": ..., ...}; an image, video, voice message or
    file may carry its bytes as "contentBase64" with "contentType" (for images JPEG, PNG or GIF; a sample of the
    kind otherwise)."""
    data = payload()
    if data.get("type", "text") not in USER_MESSAGE_TYPES or ("type" not in data and "text" not in data):
        raise SimError(
            400, 'send {"text": "..."} or {"type": "text"|"image"|"video"|"audio"|"file"|"location"|"sticker", ...}'
        )
    image = sent_content(data.get("type"), data.pop("contentBase64", None), data.pop("contentType", None))
    return jsonify(user_actions.send_message(current_state(), user_id, data, image))


def sent_content(kind, encoded, content_type) -> tuple[bytes, str] | None:
    """A media message's bytes and type from the request, checked (None: none given)."""
    if encoded is None:
        return None
    if kind == "image" and content_type not in IMAGE_TYPES:
        raise SimError(400, f"contentType must be one of {', '.join(IMAGE_TYPES)}")
    if kind not in ("image", "video", "audio", "file") or not isinstance(content_type, str) or "/" not in content_type:
        raise SimError(400, "contentBase64 goes with an image, video, audio or file message and its contentType")
    try:
        data = base64.b64decode(encoded, validate=True) if isinstance(encoded, str) else b""
    except binascii.Error:
        data = b""
    if not 0 < len(data) <= MAX_SENT_IMAGE_BYTES:
        raise SimError(400, "contentBase64 must be base64 of 1 byte to 10 MB")  # the simulator keeps 10 MB at most
    return data, content_type


@bp.post("/users/<user_id>/postback")
def postback(user_id: str):
    """Send a postback: {"data": ..., "params"?: {...}, "displayText"?: ...}."""
    data = payload()
    params = data.get("params")
    if params is not None and not isinstance(params, dict):
        raise SimError(400, "params must be an object")
    return jsonify(
        user_actions.postback(
            current_state(), user_id, text_field(data, "data", required=True), params, text_field(data, "displayText")
        )
    )


@bp.post("/users/<user_id>/unsend")
def unsend(user_id: str):
    """Unsend {"messageId"} (default: the user's last message)."""
    return jsonify(user_actions.unsend(current_state(), user_id, text_field(payload(), "messageId")))


@bp.post("/users/<user_id>/actions")
def perform_action(user_id: str):
    """Tap an action object: {"action": {...}, "params"?: {...}} (uri/clipboard send nothing)."""
    data = payload()
    if not isinstance(data.get("action"), dict):
        raise SimError(400, "action must be an action object")
    return jsonify(user_actions.perform_action(current_state(), user_id, data["action"], data.get("params")))


@bp.post("/users/<user_id>/richmenu/tap")
def tap_rich_menu(user_id: str):
    """Tap area {"area": index} of the rich menu the user sees."""
    area = payload().get("area")
    if not isinstance(area, int):
        raise SimError(400, "area must be an area index")
    return jsonify(user_actions.tap_rich_menu(current_state(), user_id, area))


@bp.get("/users/<user_id>/richmenu")
def user_rich_menu(user_id: str):
    """The rich menu the user sees (switched, linked or default), with its areas."""
    state = current_state()
    with state.lock:
        state.user(user_id)
        menu_id, source = state.richmenus.displayed(user_id)
        menu = state.richmenus.menus.get(menu_id) if menu_id else None
        return jsonify(
            {"richMenuId": menu_id, "source": source, "richMenu": menu, "hasImage": menu_id in state.richmenus.images}
        )


@bp.get("/users/<user_id>/inbox")
def inbox(user_id: str):
    """Messages delivered to the user, in order."""
    state = current_state()
    with state.lock:
        state.user(user_id)
        return jsonify(list(state.inboxes.get(user_id, [])))


@bp.get("/users/<user_id>/undelivered")
def undelivered(user_id: str):
    """Messages accepted for the user but not delivered (blocked, not a friend)."""
    state = current_state()
    with state.lock:
        return jsonify(list(state.undelivered.get(user_id, [])))


@bp.get("/users/<user_id>/timeline")
def timeline(user_id: str):
    """The chat as the user sees it: their actions and the bot's delivered messages."""
    state = current_state()
    with state.lock:
        state.user(user_id)
        return jsonify(list(state.timelines.get(user_id, [])))


@bp.get("/chats/<chat_id>/inbox")
def chat_inbox(chat_id: str):
    """Messages delivered to any chat (user, group or room)."""
    state = current_state()
    with state.lock:
        return jsonify(list(state.inboxes.get(chat_id, [])))


@bp.post("/webhook/raw")
def raw_events():
    """Send any events: {"events": [...], "fill"?: true, "signature"?: str, "destination"?: str}."""
    data = payload()
    events = data.get("events")
    if not isinstance(events, list) or not all(isinstance(item, dict) for item in events):
        raise SimError(400, "events must be a list of event objects")
    if data.get("fill", True):
        events = [complete(item) for item in events]
    result = dispatch(
        current_state(), events, signature=text_field(data, "signature"), destination=text_field(data, "destination")
    )
    return jsonify({**result, "events": events})


@bp.post("/webhook/redeliver")
def redeliver_event():
    """Send a sent event again with deliveryContext.isRedelivery true: {"webhookEventId"}."""
    event_id = text_field(payload(), "webhookEventId", required=True)
    return jsonify(redeliver(current_state(), event_id))


@bp.get("/webhook/log")
def webhook_log():
    """Every webhook sent, with the CRM's answer."""
    state = current_state()
    with state.lock:
        return jsonify(list(state.webhook_log))
