"""The broadcasts' card on the home page: the latest sends with what came of them (sent, clicks, blocks)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from crm.broadcasts import stats as broadcast_stats
from crm.broadcasts.models import Broadcast, BroadcastStatus
from crm.statistics import MIN_GROUP

SHOWN = 5
STARTED = (BroadcastStatus.SENDING, BroadcastStatus.PAUSED, BroadcastStatus.SENT)


def load(session: Session, now: datetime) -> dict:
    """The last SHOWN broadcasts that started sending, newest first, each with its figures."""
    started = session.exec(
        select(Broadcast)
        .where(Broadcast.status.in_(STARTED), Broadcast.started_at.is_not(None))
        .order_by(Broadcast.started_at.desc(), Broadcast.id.desc())
        .limit(SHOWN)
    ).all()
    rows = [(broadcast, broadcast_stats.statistics(session, broadcast.id, now=now)) for broadcast in started]
    return {"rows": rows, "min_group": MIN_GROUP}  # a click rate is shown from MIN_GROUP friends sent
