"""The in-chat survey flow: postbacks, typed answers, keywords, cancel and blocks, answered after commit.

Answers and the reply to them are written in the webhook event's transaction; the reply goes out through the
outgoing-reply queue once that commits, outside the webhook request, so a slow or failing LINE neither delays
LINE's webhook nor loses an answer or a question.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime

from flask import current_app
from flask_babel import force_locale
from sqlmodel import Session, func, select

from crm.friends.models import Friend
from crm.i18n import DEFAULT_LOCALE, LOCALES
from crm.sending.replies import queue_reply
from crm.tracking import links as tracked_links
from crm.webhook.hooks import BlockContext, TextContext
from crm.webhook.postbacks import PostbackContext
from surveys import answers, builder, chat_messages, responses
from surveys.models import SurveyQuestion
from surveys.turns import Turn, TurnStatus
from surveys.views import webform

log = logging.getLogger(__name__)
RETRY_NAMESPACE = uuid.UUID("5b0c1f52-8f3e-4a55-9a57-3c1d2f0e6a11")


def on_postback(ctx: PostbackContext) -> None:
    """Handle a survey postback (`sv:...`): start, answer, toggle, done, skip or cancel."""
    parsed = chat_messages.parse_data(ctx.data)
    if parsed is None:
        log.info("survey_postback_malformed friend_id=%s", ctx.friend_id)
        return
    op, ids = parsed
    who = dict(friend_id=ctx.friend_id, at=ctx.occurred_at)
    session = ctx.session
    if op == "s":
        turn = responses.start(session, survey_id=ids[0], **who)
    elif op == "a":
        turn = answers.answer_choice(session, response_id=ids[0], question_id=ids[1], choice_id=ids[2], **who)
    elif op == "t":
        turn = answers.toggle_choice(
            session, response_id=ids[0], question_id=ids[1], choice_id=ids[2], selected=bool(ids[3]), **who
        )
    elif op == "d":
        turn = answers.finish_multiple(session, response_id=ids[0], question_id=ids[1], **who)
    elif op == "k":
        turn = answers.skip(session, response_id=ids[0], question_id=ids[1], **who)
    else:
        turn = responses.cancel(session, response_id=ids[0], **who) or Turn(TurnStatus.STALE)
    respond(
        session,
        turn,
        friend_id=ctx.friend_id,
        line_user_id=ctx.line_user_id,
        reply_token=ctx.reply_token,
        occurred_at=ctx.occurred_at,
        send_key=ctx.reply_token or f"{ctx.line_user_id}:{ctx.occurred_at}:{ctx.data}",
    )


def on_text(ctx: TextContext) -> bool:
    """Cancel word, free-text answer, or a survey's start keyword; return whether the message was one."""
    session, who = ctx.session, dict(friend_id=ctx.friend_id, at=ctx.occurred_at)
    if builder.is_cancel_word(ctx.text):
        turn = responses.cancel(session, **who)
    else:
        turn = answers.answer_text(session, text=ctx.text, **who)
        if turn is None:
            survey = builder.find_by_keyword(session, ctx.text)
            turn = None if survey is None else responses.start(session, survey_id=survey.id, **who)
    if turn is None:
        return False
    respond(
        session,
        turn,
        friend_id=ctx.friend_id,
        line_user_id=ctx.line_user_id,
        reply_token=ctx.reply_token,
        occurred_at=ctx.occurred_at,
        send_key=ctx.event_key,
    )
    return True


def on_block(ctx: BlockContext) -> None:
    """A friend who blocks the account leaves no unfinished survey behind."""
    if responses.abandon(ctx.session, friend_id=ctx.friend_id, at=ctx.occurred_at):
        log.info("survey_abandoned_on_block friend_id=%s", ctx.friend_id)


def _position(session: Session, turn: Turn) -> tuple[int, int]:
    """(number, total) of the turn's question within its version."""
    question = turn.question
    ordered = select(func.count()).select_from(SurveyQuestion).where(SurveyQuestion.version_id == question.version_id)
    total = session.exec(ordered).one()
    earlier = session.exec(
        ordered.where(
            (SurveyQuestion.position < question.position)
            | ((SurveyQuestion.position == question.position) & (SurveyQuestion.id < question.id))
        )
    ).one()
    return earlier + 1, total


def build_messages(session: Session, turn: Turn, *, friend: Friend) -> list[dict]:
    """The turn's messages in the friend's language (Japanese unless LINE told us otherwise)."""
    number, total = _position(session, turn) if turn.question is not None else (0, 0)
    link = None
    if turn.status == TurnStatus.WEB:
        link = webform.link_for(current_app, friend_id=friend.id, survey_id=turn.survey.id)
    language = (friend.language or "").split("-")[0]
    base_url = current_app.config.get("PUBLIC_BASE_URL") or ""

    def tracked(body: str) -> str:
        return tracked_links.rewrite_links(
            session,
            text=body,
            friend_id=friend.id,
            base_url=base_url,
            source=f"survey:{turn.survey.id}",
            track=bool(base_url),
        )

    with force_locale(language if language in LOCALES else DEFAULT_LOCALE):
        return chat_messages.turn_messages(turn, number=number, total=total, web_link=link, links=tracked)


def respond(
    session: Session,
    turn: Turn,
    *,
    friend_id: int,
    line_user_id: str,
    reply_token: str | None,
    occurred_at: datetime,
    send_key: str,
) -> None:
    """Queue the turn's messages in the event's transaction; they go out after it commits, outside the request."""
    if turn.status == TurnStatus.STALE:
        return
    messages = build_messages(session, turn, friend=session.get(Friend, friend_id))
    if not messages:
        return
    queue_reply(
        session,
        friend_id=friend_id,
        line_user_id=line_user_id,
        messages=messages,
        reply_token=reply_token,
        occurred_at=occurred_at,
        retry_key=str(uuid.uuid5(RETRY_NAMESPACE, send_key)),
        source="survey",
    )
