"""LINE Login's web flow as LINE runs it: the authorize page (log in as a simulated user, consent), the separate
add-friend screen of bot_prompt=aggressive (adding sends the follow webhook, as LINE does), the redirect with
code, state and friendship_status_changed, and the token endpoint, whose ID token is a JWT signed HS256 with
the Login channel's secret. Errors are answered as LINE answers them."""

from __future__ import annotations

import secrets
import time
from urllib.parse import urlencode

import jwt
from flask import Blueprint, current_app, jsonify, redirect, render_template, request

from linesim import user_actions
from linesim.errors import SimError
from linesim.origin import check_same_origin
from linesim.state import SimState, current_state

bp = Blueprint("line_login", __name__)
bp.before_request(check_same_origin)  # the consent forms are plain posts from the simulator's own pages
ISSUER = "https://access.line.me"
CODE_LIFETIME_S = 600  # an authorization code is valid for 10 minutes, once
ID_TOKEN_LIFETIME_S = 3600
FLOW_KEYS = ("client_id", "redirect_uri", "state", "nonce", "bot_prompt", "scope")


def _flow() -> dict:
    """The authorize request's parameters (query string on GET, hidden fields on the consent posts)."""
    source = request.args if request.method == "GET" else request.form
    return {key: source.get(key, "") for key in FLOW_KEYS}


def _check(flow: dict) -> None:
    """400, as LINE's authorize page shows it, for a request it would refuse."""
    if flow["client_id"] != str(current_app.config["LOGIN_CHANNEL_ID"]):
        raise SimError(400, "invalid client_id")
    if not flow["redirect_uri"].startswith(("http://", "https://")):
        raise SimError(400, "invalid redirect_uri")
    if "openid" not in flow["scope"].split() and flow["nonce"]:
        raise SimError(400, "nonce requires the openid scope")


def _back(flow: dict, **values) -> str:
    """The redirect to the client's callback with these parameters and the state."""
    separator = "&" if "?" in flow["redirect_uri"] else "?"
    return flow["redirect_uri"] + separator + urlencode({**values, "state": flow["state"]})


@bp.get("/oauth2/v2.1/authorize")
def authorize():
    """The login and consent screen: who logs in (a simulated user, or a new one) and 「許可する」."""
    flow = _flow()
    if request.args.get("response_type") != "code":
        raise SimError(400, "response_type must be code")
    _check(flow)
    state = current_state()
    with state.lock:
        users = [user.to_dict() for user in state.users.values()]
    return render_template("linesim/login_consent.html", flow=flow, users=users)


@bp.post("/oauth2/v2.1/authorize/consent")
def consent():
    """Allowed: the add-friend screen (aggressive, not yet a friend), or straight back (normal: after following if
    the consent screen's add-friend toggle was on); cancelled: access_denied."""
    flow = _flow()
    _check(flow)
    if request.form.get("decision") != "allow":
        description = "The resource owner denied the request."
        return redirect(_back(flow, error="access_denied", error_description=description))
    state = current_state()
    user_id = request.form.get("userId", "")
    if user_id:
        with state.lock:
            user = state.user(user_id)
    else:
        name = request.form.get("displayName", "").strip()
        if not name:
            raise SimError(400, "choose a user or enter a display name")
        user = state.add_user(display_name=name)
    if flow["bot_prompt"] == "aggressive" and user.status != "following":
        return render_template("linesim/login_add_friend.html", flow=flow, user=user.to_dict())
    added = flow["bot_prompt"] == "normal" and request.form.get("addFriend") == "1" and user.status != "following"
    if added:  # bot_prompt=normal: the add-friend toggle on the consent screen
        user_actions.follow(state, user.user_id)
    changed = "true" if added else "false"
    return redirect(_back(flow, code=issue_code(state, flow, user.user_id), friendship_status_changed=changed))


@bp.post("/oauth2/v2.1/authorize/friend")
def add_friend():
    """The add-friend screen's answer: adding follows the account (the webhook goes out before the redirect)."""
    flow = _flow()
    _check(flow)
    state = current_state()
    user_id = request.form.get("userId", "")
    with state.lock:
        user = state.user(user_id)
    added = request.form.get("add") == "1" and user.status != "following"
    if added:
        user_actions.follow(state, user_id)
    code = issue_code(state, flow, user_id)
    return redirect(_back(flow, code=code, friendship_status_changed="true" if added else "false"))


def issue_code(state: SimState, flow: dict, user_id: str) -> str:
    """A single-use authorization code remembering who logged in, for whom and where to."""
    code = secrets.token_urlsafe(15)
    with state.lock:
        state.login_codes[code] = {
            "client_id": flow["client_id"],
            "redirect_uri": flow["redirect_uri"],
            "nonce": flow["nonce"] or None,
            "user_id": user_id,
            "issued_at": time.time(),
            "used": False,
        }
    return code


def _token_error(error: str, description: str, status: int = 400):
    return jsonify({"error": error, "error_description": description}), status


@bp.post("/oauth2/v2.1/token")
def token():
    """code → access token and ID token; LINE's errors for a bad client, code or redirect_uri."""
    form = request.form
    config = current_app.config
    if form.get("grant_type") != "authorization_code":
        return _token_error("unsupported_grant_type", "unsupported grant_type")
    if (
        form.get("client_id") != str(config["LOGIN_CHANNEL_ID"])
        or form.get("client_secret") != config["LOGIN_CHANNEL_SECRET"]
    ):
        return _token_error("invalid_client", "invalid client_id or client_secret", 401)
    state = current_state()
    with state.lock:
        issued = state.login_codes.get(form.get("code", ""))
        if issued is None or issued["used"] or time.time() - issued["issued_at"] > CODE_LIFETIME_S:
            return _token_error("invalid_grant", "invalid authorization code")
        issued["used"] = True  # used once, even when the redirect_uri is wrong
        if form.get("redirect_uri") != issued["redirect_uri"]:
            return _token_error("invalid_grant", "redirect_uri does not match")
        user = state.user(issued["user_id"])
        name, picture = user.display_name, user.picture_url
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "sub": issued["user_id"],
        "aud": issued["client_id"],
        "exp": now + ID_TOKEN_LIFETIME_S,
        "iat": now,
        "amr": ["linesso"],
        "name": name,
        **({"nonce": issued["nonce"]} if issued["nonce"] else {}),
        **({"picture": picture} if picture else {}),
    }
    id_token = jwt.encode(claims, config["LOGIN_CHANNEL_SECRET"], algorithm="HS256")
    return jsonify(
        {
            "access_token": secrets.token_urlsafe(32),
            "expires_in": 2592000,
            "id_token": id_token,
            "refresh_token": secrets.token_urlsafe(16),
            "scope": "openid profile",
            "token_type": "Bearer",
        }
    )
