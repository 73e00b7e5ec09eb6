"""Helpers for auto-reply tests: rules saved through the service, answers read back from the simulator."""

from __future__ import annotations

from sqlmodel import select

from crm.auto_replies import rules
from crm.auto_replies.models import AutoReplyHit
from crm.db import get_engine, session_scope
from crm.staff.audit import Actor
from tests.factories import make_template

EDITOR = Actor.system("test")


def make_rule(app, name: str = "営業時間", *, answer: str | None = None, **values) -> int:
    """Save a rule (a keyword rule unless told) answering with a new text template; return its id."""
    if "template_id" not in values and "actions" not in values:
        values["template_id"] = make_template(app, [{"type": "text", "text": answer or f"{name}のお答え"}], name=name)
    with session_scope(get_engine(app)) as session:
        return rules.create_rule(session, actor=EDITOR, values=rules.RuleValues(name=name, **values)).id


def hits(app) -> list[AutoReplyHit]:
    with session_scope(get_engine(app)) as session:
        return list(session.exec(select(AutoReplyHit).order_by(AutoReplyHit.id)))
