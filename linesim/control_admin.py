"""Control API, platform side: faults, rate limits, quota, settings, reset, logs."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from linesim.control_api import payload
from linesim.errors import LineError, SimError
from linesim.faults import fault_from_json
from linesim.origin import check_control_request
from linesim.state import current_state

bp = Blueprint("control_admin", __name__, url_prefix="/_sim")
bp.before_request(check_control_request)
SETTINGS = {
    "replyTokenTtlSeconds": "reply_token_ttl",
    "redeliveryReplyTokenTtlSeconds": "redelivery_token_ttl",
    "webhookTimeout": "webhook_timeout",
}


@bp.get("/requests")
def requests_log():
    """Messaging API calls (method, path, endpoint, status, retry key, request ID, time), filtered by ?path=&method=."""
    path, method = request.args.get("path"), request.args.get("method")
    state = current_state()
    with state.lock:
        entries = [
            entry
            for entry in state.requests
            if (not path or path in entry["path"]) and (not method or entry["method"] == method.upper())
        ]
    return jsonify(entries)


@bp.get("/narrowcasts")
def narrowcasts():
    """Narrowcasts accepted (recorded, not delivered)."""
    state = current_state()
    with state.lock:
        return jsonify(list(state.narrowcasts))


@bp.route("/faults", methods=["GET", "POST", "DELETE"])
def faults():
    """Add a fault rule (POST {"endpoint", "kind", "count", "stallSeconds", "status"}), list or clear them."""
    table = current_state().faults
    if request.method == "POST":
        try:
            table.add(fault_from_json(payload()))
        except (TypeError, ValueError) as error:
            raise SimError(400, str(error)) from None
    elif request.method == "DELETE":
        table.clear()
    return jsonify({"faults": table.to_list()}), 201 if request.method == "POST" else 200


@bp.post("/rate-limit")
def rate_limit():
    """Limit requests per second per endpoint: {"perSecond": N | null, "endpoint"?: pattern}."""
    data = payload()
    per_second = data.get("perSecond")
    if per_second is not None and (not isinstance(per_second, int) or per_second < 1):
        raise SimError(400, "perSecond must be a positive integer or null")
    limiter = current_state().rate_limiter
    limiter.configure(per_second, data.get("endpoint"))
    return jsonify(limiter.to_dict())


@bp.post("/quota")
def quota():
    """Set the monthly quota: {"type": "limited", "value": N, "totalUsage"?: N} or {"type": "none"}."""
    data = payload()
    state = current_state()
    kind, value, usage = data.get("type", "limited"), data.get("value"), data.get("totalUsage")
    if kind not in ("limited", "none") or (kind == "limited" and (not isinstance(value, int) or value < 0)):
        raise SimError(400, 'send {"type": "limited", "value": N} or {"type": "none"}')
    if usage is not None and (not isinstance(usage, int) or usage < 0):
        raise SimError(400, "totalUsage must be a non-negative integer")
    with state.lock:
        state.settings.quota_value = value if kind == "limited" else None
        if usage is not None:
            state.settings.total_usage = usage
        return jsonify({"type": kind, "value": state.settings.quota_value, "totalUsage": state.settings.total_usage})


@bp.route("/config", methods=["GET", "POST"])
def config():
    """Read or change settings: replyTokenTtlSeconds, redeliveryReplyTokenTtlSeconds, webhookTimeout,
    followersApi ("ok" | "forbidden"), webhookUrl."""
    data = payload() if request.method == "POST" else {}
    state = current_state()
    with state.lock:
        for key, attribute in SETTINGS.items():
            if key in data:
                if not isinstance(data[key], (int, float)) or data[key] < 0:
                    raise SimError(400, f"{key} must be a non-negative number")
                setattr(state.settings, attribute, float(data[key]))
        if "followersApi" in data:
            if data["followersApi"] not in ("ok", "forbidden"):
                raise SimError(400, 'followersApi must be "ok" or "forbidden"')
            state.settings.followers_api = data["followersApi"]
        if "webhookUrl" in data:
            state.settings.webhook_url = data["webhookUrl"] or None
        return jsonify(state.settings.to_dict())


@bp.post("/reset")
def reset():
    """Forget users, messages, menus, logs, faults and settings."""
    current_state().reset()
    return jsonify({"status": "reset"})


@bp.get("/richmenus/<menu_id>/image")
def rich_menu_image(menu_id: str):
    """A rich menu's image without LINE auth (for the chat page)."""
    state = current_state()
    try:
        with state.lock:
            data, content_type = state.richmenus.image(menu_id)
    except LineError as error:
        raise SimError(404, error.message) from None
    return Response(data, mimetype=content_type)


@bp.get("/contents/<message_id>")
def message_content(message_id: str):
    """An image a user sent, without LINE auth (for the chat page)."""
    state = current_state()
    with state.lock:
        content = state.contents.get(message_id)
    if content is None:
        raise SimError(404, f"no content for message {message_id}")
    data, content_type = content
    return Response(data, mimetype=content_type)


@bp.delete("/contents/<message_id>")
def expire_content(message_id: str):
    """Forget a message's bytes and preview, as LINE does once its keeping period is over (then the API answers
    404)."""
    state = current_state()
    with state.lock:
        state.contents.pop(message_id, None)
        state.previews.pop(message_id, None)
    return jsonify({})
