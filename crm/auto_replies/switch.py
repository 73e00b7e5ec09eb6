"""The emergency stop of every automatic answer (自動応答の緊急停止) and the rules' version, one settings row.

`automatic_answers_stopped(session)` is what any automatic answer consults before it queues anything (the
auto-reply rules do; the scenarios' immediate greeting can). Turning the stop on or off is audited."""

from __future__ import annotations

from sqlalchemy import update
from sqlmodel import Session

from crm.auto_replies.models import SETTINGS_ID, AutoReplySettings
from crm.staff.audit import Actor, record
from crm.timeutil import utcnow

STOP_ACTION = "auto_reply.stopped"
RESUME_ACTION = "auto_reply.resumed"


def settings(session: Session) -> AutoReplySettings:
    """The settings row (created by the migration; made again should it be missing)."""
    row = session.get(AutoReplySettings, SETTINGS_ID)
    if row is None:
        row = AutoReplySettings(id=SETTINGS_ID)
        session.add(row)
        session.flush()
    return row


def automatic_answers_stopped(session: Session) -> bool:
    """Whether staff have paused every automatic answer."""
    row = session.get(AutoReplySettings, SETTINGS_ID)
    return bool(row and row.stopped)


def set_stopped(session: Session, *, actor: Actor, stopped: bool) -> AutoReplySettings:
    """Pause (or resume) every automatic answer at once, audited; no change when it already is so."""
    row = settings(session)
    if row.stopped == stopped:
        return row
    row.stopped, row.stopped_at, row.stopped_by = stopped, utcnow() if stopped else None, actor.label[:120]
    record(session, actor=actor, action=STOP_ACTION if stopped else RESUME_ACTION, target_type="auto_reply_switch")
    session.flush()
    return row


def bump_version(session: Session) -> None:
    """Tell every process the rules changed (in the transaction that changed them)."""
    settings(session)
    session.execute(
        update(AutoReplySettings)
        .where(AutoReplySettings.id == SETTINGS_ID)
        .values(rules_version=AutoReplySettings.rules_version + 1)
        .execution_options(synchronize_session=False)
    )
