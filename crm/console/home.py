"""Home (the dashboard): today's figures, the cards features register, and links to the main tasks."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from flask import Blueprint, Flask, current_app, render_template
from flask_login import current_user
from sqlalchemy import func
from sqlmodel import Session, select

from crm.console.dashboard import home_cards
from crm.console.guard import requires
from crm.db import get_session
from crm.friends.models import Friend, FriendStatus, Message, MessageDirection
from crm.timeutil import TOKYO, utcnow

bp = Blueprint("home", __name__)
NEEDS_ATTENTION = "needed"  # Friend.attention's 要対応
FOLLOWING_KEY = "crm_following_count"
FOLLOWING_TTL = timedelta(seconds=60)  # the page says 「1分ごとに更新」


def tokyo_midnight(now: datetime) -> datetime:
    """Start of today in Asia/Tokyo, as a UTC datetime."""
    return datetime.combine(now.astimezone(TOKYO).date(), time(0), tzinfo=TOKYO).astimezone(now.tzinfo)


def _count(db: Session, *conditions) -> int:
    return db.exec(select(func.count()).select_from(Friend).where(*conditions)).one()


def following_count(app: Flask, db: Session, now: datetime) -> int:
    """Friends following, counted at most once per FOLLOWING_TTL in each web process: the count reads every
    friend's index entry (150 ms at 1M friends on SQLite), the day's other figures read only recent ones."""
    counted = app.extensions.get(FOLLOWING_KEY)
    if counted is None or not counted[0] <= now < counted[0] + FOLLOWING_TTL:
        counted = app.extensions[FOLLOWING_KEY] = (now, _count(db, Friend.status == FriendStatus.FOLLOWING))
    return counted[1]


def todays_figures(db: Session, now: datetime) -> dict:
    """Friends following (counted once a minute), follows and blocks today and in the last 7 days, messages
    received today, and the friends marked as needing staff attention (要対応)."""
    today, week = tokyo_midnight(now), now - timedelta(days=7)
    received = (
        select(func.count())
        .select_from(Message)
        .where(Message.direction == MessageDirection.INCOMING, Message.created_at >= today)
    )
    return {
        "following": following_count(current_app, db, now),
        "follows_today": _count(db, Friend.last_followed_at >= today),
        "follows_week": _count(db, Friend.last_followed_at >= week),
        "blocks_today": _count(db, Friend.status == FriendStatus.BLOCKED, Friend.blocked_at >= today),
        "blocks_week": _count(db, Friend.status == FriendStatus.BLOCKED, Friend.blocked_at >= week),
        "messages_today": db.exec(received).one(),
        "attention_needed": _count(db, Friend.attention == NEEDS_ATTENTION, Friend.status != FriendStatus.ERASED),
    }


@bp.get("/")
@requires("home.view")
def index():
    """The home page."""
    db, now = get_session(), utcnow()
    return render_template(
        "home/index.html",
        figures=todays_figures(db, now),
        cards=home_cards(current_app, db, now, role=current_user.role),
    )
