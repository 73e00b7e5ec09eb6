"""A broadcast's timeline after the send: link clicks and blocks per hour for the first 48 hours, then per day,
in Asia/Tokyo, drawn on the console's bar charts (with their figures as tables). Blocks count friends sent to who
block the account now and blocked after their own send, at the time they blocked."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlmodel import Session

from crm.broadcasts import recipients as broadcast_recipients
from crm.broadcasts.models import Broadcast, RecipientState
from crm.console.charts import BarChart, Series, daily_bars, slot_bars
from crm.friends.models import Friend, FriendStatus
from crm.sql import tokyo_hour, utc_literal
from crm.timeutil import TOKYO
from crm.tracking.models import LinkClick

HOURLY_HOURS = 48  # drawn hour by hour from the send's first hour
TIMELINE_DAYS = 14  # the whole timeline, counted from the send's first hour
R = broadcast_recipients.outcomes()


@dataclass(frozen=True)
class Timeline:
    hourly: BarChart
    daily: BarChart | None  # None until the first 48 hours have passed
    clicks: int  # in the whole timeline
    blocks: int


def _per_hour(session: Session, query) -> dict[datetime, int]:
    """{Tokyo hour: count} of a (hour text, count) query."""
    return {
        datetime.strptime(str(hour), "%Y-%m-%d %H").replace(tzinfo=TOKYO): count
        for hour, count in session.execute(query)
    }


def _clicks(session: Session, broadcast_id: int, start: datetime, end: datetime) -> dict[datetime, int]:
    hour = tokyo_hour(session, LinkClick.clicked_at)
    query = (
        select(hour, func.count())
        .where(
            LinkClick.broadcast_id == broadcast_id,
            LinkClick.clicked_at >= utc_literal(start),
            LinkClick.clicked_at < utc_literal(end),
        )
        .group_by(hour)
    )
    return _per_hour(session, query)


def _blocks(session: Session, broadcast_id: int, start: datetime, end: datetime) -> dict[datetime, int]:
    hour = tokyo_hour(session, Friend.blocked_at)
    query = (
        select(hour, func.count())
        .select_from(R)
        .join(Friend, Friend.id == R.friend_id)
        .where(
            R.broadcast_id == broadcast_id,
            R.state == RecipientState.SENT,
            Friend.status == FriendStatus.BLOCKED,
            Friend.blocked_at >= R.sent_at,
            Friend.blocked_at >= utc_literal(start),
            Friend.blocked_at < utc_literal(end),
        )
        .group_by(hour)
    )
    return _per_hour(session, query)


def _hour_name(hour: datetime) -> str:
    return f"{hour.month}/{hour.day} {hour.hour}:00"


def timeline(session: Session, broadcast: Broadcast, now: datetime) -> Timeline | None:
    """The timeline up to `now` (None before sending started)."""
    if broadcast.started_at is None:
        return None
    first = broadcast.started_at.astimezone(TOKYO).replace(minute=0, second=0, microsecond=0)
    end = first + timedelta(days=TIMELINE_DAYS)
    clicks = _clicks(session, broadcast.id, first, end)
    blocks = _blocks(session, broadcast.id, first, end)
    names = (_("Clicks"), _("Blocks"))
    hours = [first + timedelta(hours=offset) for offset in range(HOURLY_HOURS)]
    hours = [hour for hour in hours if hour <= now] or hours[:1]
    hourly = slot_bars(
        _("Clicks and blocks per hour, first 48 hours"),
        [_hour_name(hour) for hour in hours],
        [_hour_name(hour) for hour in hours],
        [
            Series(names[0], [clicks.get(hour, 0) for hour in hours], "solid"),
            Series(names[1], [blocks.get(hour, 0) for hour in hours], "striped"),
        ],
        row_heading=_("Hour"),
        label_every=12,
    )
    return Timeline(
        hourly, _daily(first, min(now, end), clicks, blocks, names), sum(clicks.values()), sum(blocks.values())
    )


def _daily(first: datetime, last: datetime, clicks: dict, blocks: dict, names: tuple[str, str]) -> BarChart | None:
    """Per Tokyo day from the 49th hour to `last` (None before then)."""
    split = first + timedelta(hours=HOURLY_HOURS)
    if last < split:
        return None
    days = [
        split.date() + timedelta(days=offset)
        for offset in range((last.astimezone(TOKYO).date() - split.date()).days + 1)
    ]

    def per_day(counts: dict[datetime, int]) -> list[int]:
        totals: dict[date, int] = {}
        for hour, count in counts.items():
            if hour >= split:
                totals[hour.date()] = totals.get(hour.date(), 0) + count
        return [totals.get(day, 0) for day in days]

    return daily_bars(
        _("Clicks and blocks per day, after the first 48 hours"),
        days,
        [Series(names[0], per_day(clicks), "solid"), Series(names[1], per_day(blocks), "striped")],
        label_every=3,
    )
