"""「試す」: which rules would answer a text from a friend now, decided as a real message would be (without
recording a hit, queuing a reply or running an action). With no friend chosen, rules with a friend condition
are passed over."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from crm.auto_replies.matching import load_rules
from crm.auto_replies.runtime import IncomingMessage, answering_rules
from crm.auto_replies.switch import settings


@dataclass(frozen=True)
class Trial:
    text: str
    rules: list[tuple[int, str]]  # (id, name) of the answering rules, in order
    stopped: bool  # the emergency stop is on: nothing would actually be sent


def try_text(session: Session, *, text: str, friend_id: int | None, now: datetime) -> Trial:
    state = settings(session)
    rules = load_rules(session, state.rules_version)
    message = IncomingMessage(friend_id=friend_id or 0, event_key="trial", text=text, reply_token=None, occurred_at=now)
    answering = answering_rules(session, rules, message)
    return Trial(text=text, rules=[(rule.id, rule.name) for rule in answering], stopped=state.stopped)
