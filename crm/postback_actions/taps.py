"""A tap on a button with actions (postback data "pa:<id>.<mac>"): check the signature, count the tap and run
the stored actions once per webhook event, in the event's transaction. A forged, tampered or stale reference
does nothing but a log line."""

from __future__ import annotations

import logging

from flask import current_app

from crm.actions.engine import run_actions
from crm.postback_actions import service
from crm.postback_actions.signing import list_id_of

log = logging.getLogger(__name__)
SOURCE_PREFIX = "button"


def secret() -> str:
    """The key of the signed references: the app's secret."""
    return current_app.config.get("SECRET_KEY") or ""


def on_postback(ctx) -> None:
    """Run the actions a `pa:` postback refers to (ctx: crm.webhook.postbacks.PostbackContext)."""
    list_id = list_id_of(ctx.data, secret())
    if list_id is None:
        log.warning("postback_actions_refused reason=bad_signature friend_id=%s data=%.40r", ctx.friend_id, ctx.data)
        return
    row = service.get_list(ctx.session, list_id)
    if row is None:
        log.warning("postback_actions_refused reason=unknown_list friend_id=%s list_id=%s", ctx.friend_id, list_id)
        return
    event_key = ctx.event_key or f"{ctx.line_user_id}:{ctx.occurred_at.isoformat()}:{ctx.data}"
    if not service.record_tap(
        ctx.session, list_id=list_id, friend_id=ctx.friend_id, event_key=event_key, at=ctx.occurred_at
    ):
        log.info("postback_actions_repeated friend_id=%s list_id=%s", ctx.friend_id, list_id)
        return
    run_actions(
        ctx.session,
        friend_id=ctx.friend_id,
        actions=service.actions_of(row),
        trigger_key=f"postback:{event_key}",
        source=f"{SOURCE_PREFIX}:{list_id}",
        reply_token=ctx.reply_token,
    )
