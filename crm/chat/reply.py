"""One staff reply to a friend, as the friend page and the chat inbox send it: claimed under its retry key and
committed, pushed to LINE with no transaction open, then recorded as sent, or its claim released when LINE did
not take it (the text stays in the form and the same key sends it once)."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlmodel import Session

from crm.chat import service as chat
from crm.db import unit_of_work
from crm.friends.models import Friend
from crm.i18n import message_of
from crm.line.errors import LineApiError
from crm.staff.audit import Actor


@dataclass(frozen=True)
class ReplyOutcome:
    """What became of a reply: sent (or sent before, `duplicate`), or refused with words for staff."""

    duplicate: bool = False
    error: str | None = None
    status: int = 200


def send_reply(
    db: Session, client: chat.Pusher, *, friend: Friend, text: str, retry_key: str, actor: Actor
) -> ReplyOutcome:
    """Send the text to the friend once per retry key."""
    with unit_of_work(chat.ChatError) as work:
        result = chat.claim_send(db, friend=friend, text=text, retry_key=retry_key, staff_id=actor.staff_id)
    if work.failed:
        return ReplyOutcome(error=message_of(work.error), status=400)
    if not result.duplicate:
        try:
            chat.push_claimed(client, line_user_id=friend.line_user_id, message=result.message)
        except LineApiError as error:
            with unit_of_work():
                chat.release_claim(db, message_id=result.message.id)
            return ReplyOutcome(error=line_error_message(error), status=502)
        with unit_of_work():
            chat.record_sent(db, message_id=result.message.id, actor=actor)
    return ReplyOutcome(duplicate=result.duplicate)


def sent_notice(outcome: ReplyOutcome) -> str:
    return _("This message had already been sent.") if outcome.duplicate else _("Message sent.")


def line_error_message(error: LineApiError) -> str:
    """What to tell staff when LINE did not take the message."""
    if error.is_monthly_limit:
        return _("This month's message limit is used up, so LINE did not send the message. Your text is kept.")
    if error.status is None:
        return _(
            "LINE did not answer in time, so the message may not have been sent. Your text is kept: "
            "press Send again — it will not arrive twice."
        )
    if error.retryable:
        return _(
            "LINE had a temporary problem (HTTP %(status)s). Your text is kept: press Send again — it will "
            "not arrive twice.",
            status=error.status,
        )
    return _(
        "LINE refused the message (HTTP %(status)s: %(detail)s). Your text is kept.",
        status=error.status,
        detail=str(error),
    )
