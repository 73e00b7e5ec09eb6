"""The Messaging API's message, profile, follower and quota endpoints, at LINE's paths."""

from __future__ import annotations

import base64

from flask import Blueprint, Response, g, jsonify, request

from linesim import delivery, ids
from linesim.errors import LineError, not_found
from linesim.state import current_state
from linesim.validation import read_json, validated

bp = Blueprint("messaging", __name__)


def messages_of(body: dict) -> list[dict]:
    """The message objects exactly as the caller sent them."""
    return body["messages"]


def invalid_property(name: str) -> LineError:
    """LINE's 400 for a property whose value it can't use."""
    return LineError(400, f"The property, '{name}', in the request body is invalid (line: -, column: -)")


@bp.post("/v2/bot/message/reply")
def reply():
    """Reply with a single-use reply token from a webhook event."""
    body = read_json()
    validated("reply", body)
    sent = delivery.reply(
        current_state(), request_id=g.request_id, reply_token=body["replyToken"], messages=messages_of(body)
    )
    return jsonify({"sentMessages": sent})


@bp.post("/v2/bot/message/push")
def push():
    """Push to a user, group or room; accepted but not delivered when they blocked or aren't friends."""
    body = read_json()
    validated("push", body)
    state = current_state()
    if not ids.CHAT_ID_RE.match(body["to"]):
        raise invalid_property("to")
    if not state.known_chat(body["to"]):
        raise LineError(400, "Failed to send messages")
    sent = delivery.accept(
        state,
        api="push",
        request_id=g.request_id,
        retry_key=g.retry_key,
        recipients=[body["to"]],
        messages=messages_of(body),
    )
    return jsonify({"sentMessages": sent})


@bp.post("/v2/bot/message/multicast")
def multicast():
    """Send to up to 500 user IDs; undeliverable ones are skipped silently."""
    body = read_json()
    validated("multicast", body)
    if any(not ids.CHAT_ID_RE.match(user_id) or user_id[0] != "U" for user_id in body["to"]):
        raise invalid_property("to")
    delivery.accept(
        current_state(),
        api="multicast",
        request_id=g.request_id,
        retry_key=g.retry_key,
        recipients=list(dict.fromkeys(body["to"])),
        messages=messages_of(body),
    )
    return jsonify({})


@bp.post("/v2/bot/message/broadcast")
def broadcast():
    """Send to every friend."""
    body = read_json()
    validated("broadcast", body)
    state = current_state()
    with state.lock:
        friends = [user.user_id for user in state.users.values() if user.status == "following"]
    delivery.accept(
        state,
        api="broadcast",
        request_id=g.request_id,
        retry_key=g.retry_key,
        recipients=friends,
        messages=messages_of(body),
    )
    return jsonify({})


@bp.post("/v2/bot/message/narrowcast")
def narrowcast():
    """Accept a narrowcast (202); the simulator records it and delivers nothing."""
    body = read_json()
    validated("narrowcast", body)
    delivery.accept_narrowcast(current_state(), request_id=g.request_id, retry_key=g.retry_key, body=body)
    return jsonify({}), 202


@bp.post("/v2/bot/message/validate/<kind>")
def validate_messages(kind: str):
    """Dry-run check of message objects."""
    if kind not in ("reply", "push", "multicast", "narrowcast", "broadcast"):
        raise not_found()
    body = read_json()
    validated("broadcast", {"messages": body.get("messages")})
    return jsonify({})


@bp.post("/v2/bot/chat/loading/start")
def loading_start():
    """Show the loading animation (a no-op here beyond validation)."""
    validated("loading", read_json())
    return jsonify({}), 202


@bp.get("/v2/bot/profile/<user_id>")
def profile(user_id: str):
    """A user's profile; 404 for unknown users, users who blocked or aren't friends, or without consent."""
    state = current_state()
    with state.lock:
        user = state.users.get(user_id)
        if user is None or not user.profile_consent or not user.reachable(ids.now_ms()):
            raise not_found()
        return jsonify(user.profile())


@bp.get("/v2/bot/message/<message_id>/content")
def message_content(message_id: str):
    """The bytes of an image, video, voice message or file a user sent (served from api-data.line.me on LINE);
    404 for unknown IDs."""
    return _stored_bytes("contents", message_id)


@bp.get("/v2/bot/message/<message_id>/content/preview")
def message_content_preview(message_id: str):
    """The preview image of an image or video a user sent; 404 for unknown IDs and other kinds."""
    return _stored_bytes("previews", message_id)


def _stored_bytes(store: str, message_id: str) -> Response:
    """A user's stored bytes from the state's `contents` or `previews`, with their content type; 404 if none."""
    state = current_state()
    with state.lock:
        stored = getattr(state, store).get(message_id)
    if stored is None:
        raise not_found()
    data, content_type = stored
    return Response(data, mimetype=content_type)


@bp.get("/v2/bot/followers/ids")
def followers():
    """Friends' user IDs in pages (verified/premium accounts only: 403 when set so)."""
    state = current_state()
    if state.settings.followers_api == "forbidden":
        raise LineError(403, "Access to this API is not available for your account")
    limit = request.args.get("limit", "300")
    if not limit.isdigit() or not 1 <= int(limit) <= 1000:
        raise LineError(400, "The value of limit must be between 1 and 1000")
    start = decode_cursor(request.args.get("start"))
    with state.lock:
        follower_ids = [
            user.user_id for user in state.users.values() if user.status == "following" and user.profile_consent
        ]
    result = {"userIds": follower_ids[start : start + int(limit)]}
    if start + int(limit) < len(follower_ids):
        result["next"] = base64.urlsafe_b64encode(str(start + int(limit)).encode()).decode()
    return jsonify(result)


def decode_cursor(value: str | None) -> int:
    """The offset a `next` continuation token stands for."""
    if not value:
        return 0
    try:
        return int(base64.urlsafe_b64decode(value.encode()).decode())
    except ValueError:
        raise LineError(400, "The continuation token is invalid") from None


@bp.get("/v2/bot/message/quota")
def quota():
    """The month's target limit."""
    value = current_state().settings.quota_value
    return jsonify({"type": "none"} if value is None else {"type": "limited", "value": value})


@bp.get("/v2/bot/message/quota/consumption")
def quota_consumption():
    """Messages sent this month (push, multicast, narrowcast, broadcast recipients reached)."""
    return jsonify({"totalUsage": current_state().settings.total_usage})
