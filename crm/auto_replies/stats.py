"""Hits per rule: today (Japan time), the last 7 days, in total, and when the rule last answered."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import case, func
from sqlmodel import Session, select

from crm.auto_replies.models import AutoReplyHit
from crm.timeutil import to_tokyo


@dataclass(frozen=True)
class Hits:
    today: int = 0
    week: int = 0
    total: int = 0
    last_at: datetime | None = None


def start_of_tokyo_day(now: datetime) -> datetime:
    """Midnight of `now`'s day in Japan, in UTC."""
    local = to_tokyo(now)
    return local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)


def hits_by_rule(session: Session, *, now: datetime) -> dict[int, Hits]:
    """Each rule's hits that has any, in one grouped query."""
    today, week = start_of_tokyo_day(now), start_of_tokyo_day(now) - timedelta(days=6)
    query = select(
        AutoReplyHit.rule_id,
        func.sum(case((AutoReplyHit.at >= today, 1), else_=0)),
        func.sum(case((AutoReplyHit.at >= week, 1), else_=0)),
        func.count(),
        func.max(AutoReplyHit.at),
    ).group_by(AutoReplyHit.rule_id)
    return {
        rule_id: Hits(int(day or 0), int(seven or 0), total, last)
        for rule_id, day, seven, total, last in session.execute(query)
    }
