"""Answering a friend's message, in the webhook event's transaction: decide which rules answer, record their
hits, queue the answer with `crm.sending` (it leaves after commit, by the message's reply token while fresh,
else by push under a retry key derived from the event) and run the rules' actions once per event.

Keyword rules are tried in priority order; the first that matches, is active at the message's time (Japan
time) and whose friend condition holds answers, and later ones only when it says "continue". When none
answered, the first fallback that applies (outside business hours first, then any other message) answers, at
most once per friend per its period. Nothing happens while the emergency stop is on.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlmodel import Session, select

from crm.actions.engine import run_actions
from crm.auto_replies.hours import is_active
from crm.auto_replies.matching import CompiledRule, RuleSet, cached_rules
from crm.auto_replies.models import AutoReplyHit, RuleKind
from crm.auto_replies.switch import settings
from crm.friends.models import Friend, FriendStatus
from crm.message_templates import content
from crm.message_templates import service as templates
from crm.message_templates.models import MessageTemplate
from crm.segments.service import friend_ids as segment_friend_ids
from crm.sending.replies import queue_reply
from crm.sql import insert_for

RETRY_KEY_NAMESPACE = uuid.UUID("0d6b8e43-51a4-4a0e-9d0e-2f7d1c5b9a31")
SOURCE_PREFIX = "auto_reply"
MESSAGES_MAX = 5  # LINE takes at most 5 messages in one reply


@dataclass(frozen=True)
class IncomingMessage:
    """A friend's message as the rules see it (`text` None for stickers, images and the like)."""

    friend_id: int
    event_key: str
    text: str | None
    reply_token: str | None
    occurred_at: datetime


def answering_rules(session: Session, rules: RuleSet, message: IncomingMessage) -> list[CompiledRule]:
    """The rules that answer this message (see the module docstring), in order."""
    answering = []
    for rule in rules.matching(message.text):
        if _active(rule, message.occurred_at) and _condition_holds(session, rule, message):
            answering.append(rule)
            if not rule.continue_to_next:
                break
    if answering:
        return answering
    for rule in rules.fallbacks:
        if _fallback_applies(rule, message.occurred_at) and _condition_holds(session, rule, message):
            return [] if _answered_lately(session, rule, message) else [rule]
    return []


def _active(rule: CompiledRule, at: datetime) -> bool:
    return is_active(weekdays=rule.weekdays, start_minute=rule.start_minute, end_minute=rule.end_minute, at=at)


def _fallback_applies(rule: CompiledRule, at: datetime) -> bool:
    return not _active(rule, at) if rule.kind == RuleKind.OUTSIDE_HOURS else _active(rule, at)


def _condition_holds(session: Session, rule: CompiledRule, message: IncomingMessage) -> bool:
    if not rule.condition_tree:
        return True
    query = segment_friend_ids(session, rule.condition_tree, now=message.occurred_at)
    return session.execute(query.where(Friend.id == message.friend_id)).first() is not None


def _answered_lately(session: Session, rule: CompiledRule, message: IncomingMessage) -> bool:
    since = message.occurred_at - timedelta(minutes=rule.quiet_minutes)
    query = select(AutoReplyHit.id).where(
        AutoReplyHit.friend_id == message.friend_id, AutoReplyHit.rule_id == rule.id, AutoReplyHit.at > since
    )
    return session.exec(query.limit(1)).first() is not None


def answer(session: Session, message: IncomingMessage) -> list[int]:
    """Answer the message as the rules say; return the ids of the rules that answered (none while stopped)."""
    state = settings(session)
    if state.stopped:
        return []
    friend = session.get(Friend, message.friend_id)
    if friend is None or friend.status != FriendStatus.FOLLOWING:
        return []
    rules = answering_rules(session, cached_rules(session, state.rules_version), message)
    if not rules:
        return []
    fresh = [rule for rule in rules if _record_hit(session, rule, message)]
    if not fresh:  # the same event again: answered already
        return []
    reply_id = _queue_answer(session, friend, fresh, message)
    if reply_id is not None:
        session.execute(
            AutoReplyHit.__table__.update()
            .where(AutoReplyHit.event_key == message.event_key, AutoReplyHit.rule_id.in_([r.id for r in fresh]))
            .values(reply_id=reply_id)
        )
    token_left = message.reply_token if reply_id is None else None
    for rule in fresh:
        run_actions(
            session,
            friend_id=friend.id,
            actions=rule.actions,
            trigger_key=f"{SOURCE_PREFIX}:{message.event_key}:{rule.id}",
            source=f"{SOURCE_PREFIX}:{rule.id}",
            reply_token=token_left,
        )
    return [rule.id for rule in fresh]


def _record_hit(session: Session, rule: CompiledRule, message: IncomingMessage) -> bool:
    """Store the hit once per event and rule; whether it is new."""
    table = AutoReplyHit.__table__
    statement = (
        insert_for(session, table)
        .values(rule_id=rule.id, friend_id=message.friend_id, event_key=message.event_key, at=message.occurred_at)
        .on_conflict_do_nothing(index_elements=["event_key", "rule_id"])
        .returning(table.c.id)
    )
    return session.connection().execute(statement).scalar() is not None


def _queue_answer(session: Session, friend: Friend, rules: list[CompiledRule], message: IncomingMessage) -> int | None:
    """The answering rules' templates, rendered for the friend, as one reply (at most 5 messages)."""
    config = current_app.config
    messages: list[dict] = []
    for rule in rules:
        template = session.get(MessageTemplate, rule.template_id) if rule.template_id else None
        if template is None or template.archived:
            continue
        messages += content.render(
            session,
            templates.messages_of(template),
            friend=friend,
            base_url=config.get("PUBLIC_BASE_URL", ""),
            broadcast_id=None,
            track_links=True,
            source=SOURCE_PREFIX,
            neutral_address=config.get("NEUTRAL_ADDRESS"),
        )
    if not messages:
        return None
    return queue_reply(
        session,
        friend_id=friend.id,
        line_user_id=friend.line_user_id,
        messages=messages[:MESSAGES_MAX],
        reply_token=message.reply_token,
        occurred_at=message.occurred_at,
        retry_key=str(uuid.uuid5(RETRY_KEY_NAMESPACE, f"{SOURCE_PREFIX}|{message.event_key}")),
        source=f"{SOURCE_PREFIX}:{rules[0].id}",
    )
