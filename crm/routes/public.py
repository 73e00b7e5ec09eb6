"""The public side of routes: /i/<code> counts a visit and sends the visitor through LINE Login (or, with no
Login channel configured, straight to the account's add-friend page); /i/callback checks the single-use state,
exchanges the code with no transaction open, verifies the ID token and records the login; then a thank-you or
add-friend page. Failures show a page saying what to do and record nothing."""

from __future__ import annotations

import logging

from flask import Blueprint, current_app, redirect, render_template, request, url_for

from crm.db import get_session, unit_of_work
from crm.i18n import message_of
from crm.routes import attribution, line_login
from crm.routes.line_login import LoginChannel, LoginError
from crm.routes.models import ADDED_KINDS, ArrivalKind
from crm.routes.service import route_by_code
from crm.timeutil import utcnow
from crm.tracking.clicks import is_link_preview

log = logging.getLogger(__name__)
bp = Blueprint("route_public", __name__, url_prefix="/i")
NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex"}
IN_APP_MARK = " Line/"  # LINE's in-app browser says so in its user agent


def in_line_app(user_agent: str | None) -> bool:
    """Whether the page was opened inside the LINE app (LINE Login completes there without a password)."""
    return IN_APP_MARK in (user_agent or "")


def _page(template: str, status: int = 200, **values):
    return (
        render_template(template, add_friend_url=current_app.config.get("LINE_ADD_FRIEND_URL"), **values),
        status,
        NO_STORE,
    )


def _callback_url() -> str:
    base = current_app.config.get("PUBLIC_BASE_URL") or request.host_url
    return base.rstrip("/") + url_for("route_public.callback")


@bp.get("/<code>")
def visit(code: str):
    """Count the visit, then LINE Login (in an external browser, a page saying so first), or the add-friend
    page. Link-preview robots and HEAD requests are not counted."""
    session = get_session()
    route = route_by_code(session, code)
    if route is None:
        session.rollback()
        return _page("routes/public/problem.html", 404, reason="unknown")
    channel = LoginChannel.from_config(current_app.config)
    agent = request.user_agent.string
    if request.method == "HEAD" or is_link_preview(agent):
        session.rollback()
        return _page("routes/public/thanks.html", added=False)
    with unit_of_work():
        visit_row = attribution.record_visit(session, route_id=route.id, now=utcnow(), with_login=channel is not None)
        state, nonce = visit_row.state, visit_row.nonce
    if channel is None:
        target = current_app.config.get("LINE_ADD_FRIEND_URL")
        return redirect(target) if target else _page("routes/public/thanks.html", added=False)
    login_url = line_login.authorize_url(channel, redirect_uri=_callback_url(), state=state, nonce=nonce)
    if not in_line_app(agent):
        return _page("routes/public/external.html", continue_url=login_url)
    response = redirect(login_url)
    response.headers.update(NO_STORE)
    return response


@bp.get("/callback")
def callback():
    """LINE Login's answer: state (single use), code → ID token (verified), then the login is recorded."""
    channel = LoginChannel.from_config(current_app.config)
    session = get_session()
    with unit_of_work():
        claimed = attribution.claim_state(session, state=request.args.get("state", ""), now=utcnow())
    if channel is None or claimed is None:
        log.info("route_login_refused reason=state")
        return _page("routes/public/problem.html", 400, reason="state")
    if request.args.get("error") or not request.args.get("code"):
        log.info("route_login_refused reason=%.40s", request.args.get("error") or "no_code")
        return _page(
            "routes/public/problem.html", 400, reason="cancelled", in_app=in_line_app(request.user_agent.string)
        )
    try:  # the network call, with no transaction open
        id_token = line_login.exchange_code(channel, code=request.args["code"], redirect_uri=_callback_url())
        line_user_id = line_login.verify_id_token(channel, id_token, nonce=claimed.nonce)
    except LoginError as error:
        log.info("route_login_refused reason=%s", error.code)
        return _page("routes/public/problem.html", 400, reason="verify", error_message=message_of(error))
    with unit_of_work():
        arrival = attribution.record_login(
            session,
            claimed=claimed,
            line_user_id=line_user_id,
            friendship_changed=request.args.get("friendship_status_changed") == "true",
            now=utcnow(),
        )
        kind = arrival.kind
    added = kind in ADDED_KINDS or kind == ArrivalKind.EXISTING
    return redirect(url_for("route_public.thanks", added="1" if added else "0"))


@bp.get("/thanks")
def thanks():
    """After the login: thanks to a friend; an add-friend button to someone who has not added the account."""
    return _page("routes/public/thanks.html", added=request.args.get("added") == "1")
