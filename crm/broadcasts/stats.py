"""A broadcast's statistics, all computed by SQL aggregates (no per-friend loops): recipients by state,
failures by reason, clicks, blocks within 7 days of each friend's send, and the goal in the sent group against
the control group. There is no "open rate": LINE does not report opens."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, func, select
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session

from crm.broadcasts.models import Broadcast, RecipientState
from crm.broadcasts.models import BroadcastRecipient as R
from crm.friends.models import Friend, FriendStatus
from crm.sql import utc_literal
from crm.statistics import Comparison, compare, rate
from crm.tags.models import FriendTag
from crm.tracking import stats as click_stats
from crm.tracking.models import LinkClick, TrackedLink

BLOCK_WINDOW_DAYS = 7


@dataclass(frozen=True)
class GoalStats:
    """The goal reached in the sent group and in the control group (held out), within `days` of the send."""

    kind: str
    target_id: int
    days: int
    sent_group: int
    sent_reached: int
    control_group: int
    control_reached: int

    @property
    def sent_rate(self) -> float | None:
        return rate(self.sent_reached, self.sent_group)

    @property
    def control_rate(self) -> float | None:
        return rate(self.control_reached, self.control_group)

    @property
    def lift(self) -> float | None:
        """Sent rate minus control rate, in percentage points (None without both groups)."""
        if self.sent_rate is None or self.control_rate is None:
            return None
        return self.sent_rate - self.control_rate

    @property
    def comparison(self) -> Comparison:
        """The sent group against the control group, with the 95 % interval of the difference."""
        return compare(self.sent_reached, self.sent_group, self.control_reached, self.control_group)


@dataclass(frozen=True)
class BroadcastStats:
    """What happened to one broadcast, live while it is sending."""

    broadcast_id: int
    status: str
    recipients: int = 0  # every friend in the snapshot (held out and capped included)
    held_out: int = 0
    capped: int = 0
    queued: int = 0
    sent: int = 0
    failed: int = 0
    failures: list[tuple[str, int]] = field(default_factory=list)  # (reason, friends), biggest first
    clicks: int = 0
    unique_clickers: int = 0
    blocks_7d: int = 0
    goal: GoalStats | None = None

    @property
    def click_rate(self) -> float | None:
        """Unique clickers per friend sent to, in percent."""
        return rate(self.unique_clickers, self.sent)

    @property
    def block_rate(self) -> float | None:
        return rate(self.blocks_7d, self.sent)


def days_after(session: Session, later, earlier, days: int) -> ColumnElement:
    """SQL: `later` falls in [earlier, earlier + days) where both are per-row datetime columns."""
    if session.get_bind().dialect.name == "sqlite":  # stored as ISO text: julianday gives fractional days
        gap = func.julianday(later) - func.julianday(earlier)
        return and_(gap >= 0, gap < days)
    return and_(later >= earlier, later < earlier + func.make_interval(0, 0, 0, days))


def _state_counts(session: Session, broadcast_id: int) -> dict[str, int]:
    query = select(R.state, func.count()).where(R.broadcast_id == broadcast_id).group_by(R.state)
    return dict(session.execute(query).all())


def _failures(session: Session, broadcast_id: int) -> list[tuple[str, int]]:
    reason = func.coalesce(R.error, "")
    query = (
        select(reason, func.count())
        .where(R.broadcast_id == broadcast_id, R.state == RecipientState.FAILED)
        .group_by(reason)
        .order_by(func.count().desc(), reason)
    )
    return [(reason, count) for reason, count in session.execute(query)]


def _blocks(session: Session, broadcast_id: int) -> int:
    """Friends sent to who blocked the account within 7 days after their own send."""
    query = (
        select(func.count())
        .select_from(R)
        .join(Friend, Friend.id == R.friend_id)
        .where(
            R.broadcast_id == broadcast_id,
            R.state == RecipientState.SENT,
            R.sent_at.is_not(None),
            Friend.status == FriendStatus.BLOCKED,
            Friend.blocked_at.is_not(None),
            days_after(session, Friend.blocked_at, R.sent_at, BLOCK_WINDOW_DAYS),
        )
    )
    return session.execute(query).scalar_one()


def _reached_friends(session: Session, goal: dict, start: datetime, end: datetime):
    """SELECT of friend ids who reached the goal in [start, end): the tag added, or the link's destination
    clicked through any tracked link (so a control friend clicking it from a rich menu counts too)."""
    if goal["kind"] == "tag":
        return select(FriendTag.friend_id).where(
            FriendTag.tag_id == goal["id"],
            FriendTag.added_at >= utc_literal(start),
            FriendTag.added_at < utc_literal(end),
        )
    destination = select(TrackedLink.destination).where(TrackedLink.id == goal["id"]).scalar_subquery()
    return (
        select(LinkClick.friend_id)
        .join(TrackedLink, TrackedLink.id == LinkClick.link_id)
        .where(
            TrackedLink.destination == destination,
            LinkClick.clicked_at >= utc_literal(start),
            LinkClick.clicked_at < utc_literal(end),
        )
    )


def _goal(session: Session, broadcast: Broadcast, counts: dict[str, int]) -> GoalStats | None:
    """The goal rate in the sent and control groups, counted from when sending started."""
    if not broadcast.goal or broadcast.started_at is None:
        return None
    goal = json.loads(broadcast.goal)
    start = broadcast.started_at
    reached = _reached_friends(session, goal, start, start + timedelta(days=goal["days"]))
    query = (
        select(R.state, func.count())
        .where(
            R.broadcast_id == broadcast.id,
            R.state.in_((RecipientState.SENT, RecipientState.HELD_OUT)),
            R.friend_id.in_(reached),
        )
        .group_by(R.state)
    )
    hits = dict(session.execute(query).all())
    return GoalStats(
        kind=goal["kind"],
        target_id=goal["id"],
        days=goal["days"],
        sent_group=counts.get(RecipientState.SENT, 0),
        sent_reached=hits.get(RecipientState.SENT, 0),
        control_group=counts.get(RecipientState.HELD_OUT, 0),
        control_reached=hits.get(RecipientState.HELD_OUT, 0),
    )


def statistics(session: Session, broadcast_id: int, *, now: datetime | None = None) -> BroadcastStats:
    """The broadcast's figures (ValueError when it does not exist). `now` does not change them: every window
    is anchored on stored send times, so the figures only grow as time passes."""
    broadcast = session.get(Broadcast, broadcast_id)
    if broadcast is None:
        raise ValueError(f"no broadcast {broadcast_id}")
    counts = _state_counts(session, broadcast_id)
    clicks = click_stats.broadcast_stats(session, broadcast_id=broadcast_id)
    return BroadcastStats(
        broadcast_id=broadcast_id,
        status=broadcast.status,
        recipients=sum(counts.values()),
        held_out=counts.get(RecipientState.HELD_OUT, 0),
        capped=counts.get(RecipientState.CAPPED, 0),
        queued=counts.get(RecipientState.QUEUED, 0),
        sent=counts.get(RecipientState.SENT, 0),
        failed=counts.get(RecipientState.FAILED, 0),
        failures=_failures(session, broadcast_id),
        clicks=clicks.clicks,
        unique_clickers=clicks.unique_clickers,
        blocks_7d=_blocks(session, broadcast_id),
        goal=_goal(session, broadcast, counts),
    )


def recent(session: Session, *, limit: int = 100, offset: int = 0) -> list[tuple[Broadcast, dict[str, int]]]:
    """The newest broadcasts with their recipient counts by state (one grouped query for the page)."""
    rows = (
        session.execute(
            select(Broadcast).order_by(Broadcast.created_at.desc(), Broadcast.id.desc()).limit(limit).offset(offset)
        )
        .scalars()
        .all()
    )
    counts: dict[int, dict[str, int]] = {row.id: {} for row in rows}
    if rows:
        query = (
            select(R.broadcast_id, R.state, func.count())
            .where(R.broadcast_id.in_(list(counts)))
            .group_by(R.broadcast_id, R.state)
        )
        for broadcast_id, state, count in session.execute(query):
            counts[broadcast_id][state] = count
    return [(row, counts[row.id]) for row in rows]


def for_friend(session: Session, friend_id: int, *, limit: int = 50) -> list[dict]:
    """The broadcasts a friend was in (received, held out, capped, failed or queued), newest first."""
    query = (
        select(Broadcast.id, Broadcast.name, Broadcast.started_at, R.state, R.sent_at, R.error)
        .join(R, R.broadcast_id == Broadcast.id)
        .where(R.friend_id == friend_id)
        .order_by(func.coalesce(R.sent_at, Broadcast.started_at).desc(), Broadcast.id.desc())
        .limit(limit)
    )
    return [dict(row._mapping) for row in session.execute(query)]
