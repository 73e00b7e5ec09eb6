"""The talk view's other sources: follows and blocks, menu taps, broadcasts, scenario steps, automatic answers
and link clicks, each read from its feature's table by friend and time."""

from __future__ import annotations

import json

from sqlmodel import Session, select

from crm.actions.history import describe_source
from crm.broadcasts import recipients as broadcast_recipients
from crm.broadcasts.models import Broadcast, RecipientState
from crm.errors import N_
from crm.i18n import translate
from crm.inbox.message_source import message_items
from crm.inbox.talk import Side, TalkItem, Window, bounded, describe_postback, register_talk_source, texts_of
from crm.scenarios.delivery_batch import REPLY_SOURCE as SCENARIO_REPLY_SOURCE
from crm.scenarios.models import Scenario, ScenarioSend, ScenarioStep, SendState
from crm.sending.models import OutgoingReply, ReplyState
from crm.tracking.models import LinkClick, TrackedLink
from crm.webhook.models import WebhookEvent

EVENT_WORDS = {
    "follow": N_("Added the account as a friend"),
    "unfollow": N_("Blocked the account"),
    "postback": N_("Tapped a menu or button"),
}
SURVEY_REPLY_SOURCE = "survey"  # the survey's questions, queued by surveys as replies


def event_items(session: Session, friend_id: int, window: Window) -> list[TalkItem]:
    """Follows, blocks and postbacks (menu and button taps) from the stored webhook events."""
    query = select(WebhookEvent).where(
        WebhookEvent.friend_id == friend_id, WebhookEvent.event_type.in_(list(EVENT_WORDS))
    )
    rows = session.exec(bounded(query, WebhookEvent.occurred_at, WebhookEvent.id, window)).all()
    return [
        TalkItem(
            at=row.occurred_at,
            source=f"event-{row.event_type}",
            ref=row.id,
            side=Side.EVENT if row.event_type != "postback" else Side.FRIEND,
            origin=translate(N_("Menu tap")) if row.event_type == "postback" else translate(N_("Friend")),
            kind="event",
            label=translate(EVENT_WORDS[row.event_type]),
            text=_postback_words(session, row) if row.event_type == "postback" else None,
        )
        for row in rows
    ]


def _postback_words(session: Session, row: WebhookEvent) -> str | None:
    """What the tap did, in the words of the feature owning its data; else the data as sent (while kept)."""
    if not row.payload_kept:
        return None
    try:
        data = str((json.loads(row.payload).get("postback") or {}).get("data") or "")
    except (ValueError, AttributeError):
        return None
    return (describe_postback(session, data) or data) if data else None


def broadcast_items(session: Session, friend_id: int, window: Window) -> list[TalkItem]:
    """Broadcasts delivered to the friend, with their names and texts."""
    recipient = broadcast_recipients.outcomes()
    query = (
        select(recipient.sent_at, Broadcast.id, Broadcast.name, Broadcast.messages)
        .join(Broadcast, Broadcast.id == recipient.broadcast_id)
        .where(recipient.friend_id == friend_id, recipient.state == RecipientState.SENT)
        .where(recipient.sent_at.is_not(None))
    )
    rows = session.exec(bounded(query, recipient.sent_at, recipient.broadcast_id, window)).all()
    return [
        TalkItem(
            at=sent_at,
            source="broadcast",
            ref=broadcast_id,
            side=Side.ACCOUNT,
            origin=translate(N_("Broadcast “%(name)s”"), {"name": name}),
            text=texts_of(messages),
        )
        for sent_at, broadcast_id, name, messages in rows
    ]


def scenario_items(session: Session, friend_id: int, window: Window) -> list[TalkItem]:
    """Scenario steps delivered to the friend: the scenario and the step."""
    query = (
        select(ScenarioSend.id, ScenarioSend.created_at, Scenario.name, ScenarioStep.position, ScenarioStep.name)
        .join(Scenario, Scenario.id == ScenarioSend.scenario_id)
        .join(ScenarioStep, ScenarioStep.id == ScenarioSend.step_id)
        .where(ScenarioSend.friend_id == friend_id, ScenarioSend.state == SendState.SENT)
    )
    rows = session.exec(bounded(query, ScenarioSend.created_at, ScenarioSend.id, window)).all()
    return [
        TalkItem(
            at=created_at,
            source="scenario",
            ref=send_id,
            side=Side.ACCOUNT,
            origin=translate(N_("Scenario “%(name)s”, step %(position)s"), {"name": name, "position": position}),
            text=step_name,
        )
        for send_id, created_at, name, position, step_name in rows
    ]


def automatic_items(session: Session, friend_id: int, window: Window) -> list[TalkItem]:
    """Replies the account sent by itself: survey questions and the answers of actions (keywords, links…).
    A scenario's first step sent as a reply is shown once, as the scenario step."""
    query = select(OutgoingReply).where(
        OutgoingReply.friend_id == friend_id,
        OutgoingReply.state == ReplyState.SENT,
        OutgoingReply.source != SCENARIO_REPLY_SOURCE,
    )
    rows = session.exec(bounded(query, OutgoingReply.created_at, OutgoingReply.id, window)).all()
    return [
        TalkItem(
            at=row.created_at,
            source="reply",
            ref=row.id,
            side=Side.ACCOUNT,
            origin=_reply_origin(session, row.source),
            text=texts_of(row.messages),
        )
        for row in rows
    ]


def _reply_origin(session: Session, source: str) -> str:
    if source == SURVEY_REPLY_SOURCE:
        return translate(N_("Survey question"))
    return translate(N_("Automatic answer (%(source)s)"), {"source": describe_source(session, source)})


def click_items(session: Session, friend_id: int, window: Window) -> list[TalkItem]:
    """The friend's clicks on tracked links, with where each link led."""
    query = (
        select(LinkClick.id, LinkClick.clicked_at, TrackedLink.destination)
        .join(TrackedLink, TrackedLink.id == LinkClick.link_id)
        .where(LinkClick.friend_id == friend_id)
    )
    rows = session.exec(bounded(query, LinkClick.clicked_at, LinkClick.id, window)).all()
    return [
        TalkItem(
            at=clicked_at,
            source="click",
            ref=click_id,
            side=Side.EVENT,
            origin=translate(N_("Link click")),
            kind="event",
            label=translate(N_("Opened a link")),
            text=destination,
        )
        for click_id, clicked_at, destination in rows
    ]


def register() -> None:
    """Register the sources the core features provide (surveys registers its answers itself)."""
    for name, fetch in (
        ("message", message_items),
        ("event", event_items),
        ("broadcast", broadcast_items),
        ("scenario", scenario_items),
        ("reply", automatic_items),
        ("click", click_items),
    ):
        register_talk_source(name, fetch)
