"""The phone-like chat page: pick or create a friend, chat with the bot, tap its buttons and rich menu."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for

from linesim import user_actions
from linesim.errors import SimError
from linesim.origin import check_same_origin
from linesim.state import SimState, current_state

bp = Blueprint("chat", __name__, static_folder="static", static_url_path="/_sim/static")
bp.before_request(check_same_origin)  # its no-JS forms are plain posts: only the simulator's own pages may send them


@bp.get("/")
def index():
    """The chat page, with the friend chosen by ?user= open."""
    state = current_state()
    user_id = request.args.get("user")
    with state.lock:
        users = [user.to_dict() for user in state.users.values()]
        panel = panel_context(state, user_id) if user_id in state.users else None
    return render_template("linesim/chat.html", users=users, panel=panel)


@bp.get("/chat/<user_id>/panel")
def panel(user_id: str):
    """The open chat's conversation, quick replies and rich menu, as an HTML fragment for polling."""
    state = current_state()
    with state.lock:
        state.user(user_id)
        context = panel_context(state, user_id)
    return render_template("linesim/_panel.html", panel=context)


@bp.post("/chat/users")
def create_user():
    """Create a friend from the page's form and open their chat."""
    name = request.form.get("displayName", "").strip()
    if not name:
        raise SimError(400, "displayName is required")
    user = current_state().add_user(
        display_name=name,
        picture_url=request.form.get("pictureUrl", "").strip() or None,
        language=request.form.get("language", "").strip() or None,
        profile_consent="profileConsent" in request.form,
        is_test_friend="isTestFriend" in request.form,
    )
    return redirect(url_for("chat.index", user=user.user_id))


@bp.post("/chat/<user_id>/messages")
def send_text(user_id: str):
    """Send the composer's text without JavaScript (the script posts through the control API instead)."""
    text = request.form.get("text", "").strip()
    if text:
        user_actions.send_message(current_state(), user_id, {"type": "text", "text": text})
    return redirect(url_for("chat.index", user=user_id))


def panel_context(state: SimState, user_id: str) -> dict:
    """What the open chat shows (callers hold the state lock)."""
    timeline = list(state.timelines.get(user_id, []))
    menu_id, _ = state.richmenus.displayed(user_id)
    menu = state.richmenus.menus.get(menu_id) if menu_id else None
    quick_replies = []
    if timeline and timeline[-1]["from"] == "bot":
        last = timeline[-1]["messages"][-1]
        quick_replies = [
            item["action"]
            for item in (last.get("quickReply") or {}).get("items", [])
            if isinstance(item, dict) and isinstance(item.get("action"), dict)
        ]
    return {"user": state.users[user_id].to_dict(), "timeline": timeline, "menu": menu, "quick_replies": quick_replies}


@bp.app_template_global()
def flex_items(node) -> list[dict]:
    """A flex container flattened into readable pieces: texts, buttons, images, separators."""
    if not isinstance(node, dict):
        return []
    kind = node.get("type")
    if kind == "carousel":
        return [piece for bubble in node.get("contents", []) for piece in [{"kind": "separator"}, *flex_items(bubble)]]
    if kind == "bubble":
        return [piece for part in ("header", "hero", "body", "footer") for piece in flex_items(node.get(part))]
    if kind == "box":
        return [piece for child in node.get("contents", []) for piece in flex_items(child)]
    if kind == "text":
        text = node.get("text") or "".join(span.get("text", "") for span in node.get("contents", []))
        return [{"kind": "text", "text": text, "bold": node.get("weight") == "bold", "action": node.get("action")}]
    if kind == "button" and isinstance(node.get("action"), dict):
        return [{"kind": "button", "action": node["action"]}]
    if kind == "image":
        return [{"kind": "image", "url": node.get("url"), "action": node.get("action")}]
    if kind == "separator":
        return [{"kind": "separator"}]
    return []


@bp.app_template_global()
def imagemap_actions(message: dict) -> list[dict]:
    """Imagemap actions as ordinary action objects (linkUri -> uri)."""
    actions = []
    for action in message.get("actions", []):
        if action.get("type") == "uri":
            actions.append({"type": "uri", "uri": action.get("linkUri"), "label": action.get("label") or "link"})
        elif action.get("type") == "message":
            label = action.get("label") or action.get("text")
            actions.append({"type": "message", "text": action.get("text"), "label": label})
    return actions


@bp.app_template_global()
def template_columns(template: dict) -> list[dict]:
    """A template message's columns: one for buttons/confirm, several for carousels."""
    if template.get("type") in ("carousel", "image_carousel"):
        return template.get("columns", [])
    return [template]
