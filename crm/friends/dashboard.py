"""The friends' card on the home page: follows and blocks per day over the last 30 days (Asia/Tokyo days), as
a chart with its figures, and this month's messages against LINE's quota."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlmodel import Session

from crm.console.charts import Series, daily_bars
from crm.friends.models import Friend, FriendStatus
from crm.friends.page_views import quota_cache
from crm.sql import tokyo_day_counts
from crm.timeutil import TOKYO

DAYS = 30


def friends_over_time(session: Session, now: datetime, *, days: int = DAYS) -> dict:
    """The last `days` Tokyo days with follows (a friend who came back counts on the day of their latest add)
    and blocks (friends blocked now, on the day they blocked), their totals and the net change."""
    today = now.astimezone(TOKYO).date()
    dates = [today - timedelta(days=offset) for offset in range(days - 1, -1, -1)]
    follow_values = tokyo_day_counts(session, Friend.last_followed_at, dates)
    block_values = tokyo_day_counts(session, Friend.blocked_at, dates, Friend.status == FriendStatus.BLOCKED)
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
