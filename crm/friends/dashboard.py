"""The friends' card on the home page: follows and blocks per day over the last 30 days (Asia/Tokyo days), as
a chart with its figures, and this month's messages against LINE's quota."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func
from sqlmodel import Session, select

from crm.console.charts import Series, daily_bars
from crm.friends.models import Friend, FriendStatus
from crm.friends.page_views import quota_cache
from crm.sql import tokyo_date
from crm.timeutil import TOKYO

DAYS = 30


def per_day(session: Session, column, *conditions, since: datetime) -> dict[date, int]:
    """How many friends' `column` falls on each Tokyo day since `since`."""
    day = tokyo_date(session, column)
    rows = session.exec(select(day, func.count()).where(column >= since, *conditions).group_by(day)).all()
    return {date.fromisoformat(str(value)): count for value, count in rows}


def friends_over_time(session: Session, now: datetime, *, days: int = DAYS) -> dict:
    """The last `days` Tokyo days with follows (a friend who came back counts on the day of their latest add)
    and blocks (friends blocked now, on the day they blocked), their totals and the net change."""
    today = now.astimezone(TOKYO).date()
    dates = [today - timedelta(days=offset) for offset in range(days - 1, -1, -1)]
    since = datetime.combine(dates[0], datetime.min.time(), tzinfo=TOKYO)
    follows = per_day(session, Friend.last_followed_at, since=since)
    blocks = per_day(session, Friend.blocked_at, Friend.status == FriendStatus.BLOCKED, since=since)
    follow_values, block_values = [follows.get(d, 0) for d in dates], [blocks.get(d, 0) for d in dates]
    chart = daily_bars(
        _("Friends over the last %(days)d days", days=days),
        dates,
        [Series(_("Follows"), follow_values, "solid"), Series(_("Blocks"), block_values, "striped")],
    )
    return {
        "chart": chart,
        "follows": sum(follow_values),
        "blocks": sum(block_values),
        "net": sum(follow_values) - sum(block_values),
    }


def load(session: Session, now: datetime) -> dict:
    """What the card shows."""
    return {**friends_over_time(session, now), "quota": quota_cache(current_app).get()}
