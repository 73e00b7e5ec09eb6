"""Where auto-replies plug into the app: the webhook's text hook and the trigger subscriber (both in the event's
transaction, writing to the database only), the console banner of the emergency stop, the friend page's card
and the action history's words."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_login import current_user
from sqlmodel import Session, select

from crm.auto_replies.models import AutoReplyHit, AutoReplyRule
from crm.auto_replies.runtime import IncomingMessage, answer
from crm.auto_replies.switch import automatic_answers_stopped
from crm.db import get_session
from crm.errors import N_
from crm.i18n import translate
from crm.sending.models import OutgoingReply
from crm.triggers import Trigger, TriggerEvent

FRIEND_PAGE_HITS = 20


def on_text(context) -> bool:
    """Webhook text hook (a `crm.webhook.hooks.TextContext`), run after the surveys' one: a message a survey
    took never reaches the rules. Returns whether a rule answered."""
    message = IncomingMessage(
        friend_id=context.friend_id,
        event_key=context.event_key,
        text=context.text,
        reply_token=context.reply_token,
        occurred_at=context.occurred_at,
    )
    return bool(answer(context.session, message))


def on_trigger(session: Session, trigger: Trigger) -> None:
    """crm.triggers subscriber: a message without text (sticker, image, …) can get a fallback's answer; text
    messages come through the text hook."""
    if trigger.event != TriggerEvent.MESSAGE_RECEIVED or trigger.text is not None:
        return
    event_key = trigger.key.removeprefix("message:")
    message = IncomingMessage(
        friend_id=trigger.friend_id,
        event_key=event_key,
        text=None,
        reply_token=trigger.reply_token,
        occurred_at=trigger.occurred_at,
    )
    answer(session, message)


def console_context() -> dict:
    """`automatic_answers_paused()` for the banner base.html shows on every page while the stop is on."""

    def paused() -> bool:
        return bool(getattr(current_user, "is_authenticated", False)) and automatic_answers_stopped(get_session())

    return {"automatic_answers_paused": paused}


@dataclass(frozen=True)
class FriendAnswer:
    """A rule's answer to one of the friend's messages, for the friend page."""

    at: datetime
    rule_id: int
    rule_name: str
    sent_via: str | None


def friend_answers(session: Session, friend_id: int, limit: int = FRIEND_PAGE_HITS) -> list[FriendAnswer]:
    """The friend's latest auto-replies, newest first."""
    query = (
        select(AutoReplyHit.at, AutoReplyRule.id, AutoReplyRule.name, OutgoingReply.sent_via)
        .join(AutoReplyRule, AutoReplyRule.id == AutoReplyHit.rule_id)
        .outerjoin(OutgoingReply, OutgoingReply.id == AutoReplyHit.reply_id)
        .where(AutoReplyHit.friend_id == friend_id)
        .order_by(AutoReplyHit.at.desc(), AutoReplyHit.id.desc())
        .limit(limit)
    )
    return [FriendAnswer(*row) for row in session.execute(query)]


def friend_page_helpers() -> dict:
    """`friend_auto_replies(friend_id)` for the friend page's card."""
    return {"friend_auto_replies": lambda friend_id: friend_answers(get_session(), friend_id)}


def describe_source(session: Session, rule_id: int) -> str:
    """「自動応答「…」」 in the friend's action history."""
    rule = session.get(AutoReplyRule, rule_id)
    name = rule.name if rule is not None else f"#{rule_id}"
    return translate(N_("Auto-reply “%(name)s”"), {"name": name})
