"""A broadcast's statistics, all computed by SQL aggregates (no per-friend loops): recipients by state,
failures by reason, clicks, blocks within 7 days of each friend's send, and the goal in the sent group against
the control group. An A/B broadcast has the same figures per variant (grouped by the variant drawn per
recipient), and each variant's goal rate against the control group and against variant A. There is no
"open rate": LINE does not report opens."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, distinct, func, select
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session

from crm.broadcasts import recipients as broadcast_recipients
from crm.broadcasts import variants as broadcast_variants
from crm.broadcasts.models import Broadcast, BroadcastVariant, RecipientState
from crm.friends.models import Friend, FriendStatus
from crm.sql import utc_literal
from crm.statistics import Comparison, Proportion, compare, rate
from crm.tags.models import FriendTag
from crm.tracking import stats as click_stats
from crm.tracking.models import LinkClick, TrackedLink

BLOCK_WINDOW_DAYS = 7
R = broadcast_recipients.outcomes()


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


@dataclass
class VariantStats:
    """What happened to the friends drawn into one A/B variant."""

    variant_id: int
    label: str
    weight: int  # percent of the sent group
    recipients: int = 0  # drawn into it (queued, sent or failed)
    queued: int = 0
    sent: int = 0
    failed: int = 0
    clicks: int = 0
    unique_clickers: int = 0
    blocks_7d: int = 0
    goal: Proportion | None = None  # its sent friends who reached the goal (None: no goal)
    against_control: Comparison | None = None  # None: no goal or no control group
    against_a: Comparison | None = None  # None: no goal, or this is variant A

    @property
    def click_rate(self) -> float | None:
        return rate(self.unique_clickers, self.sent)

    @property
    def block_rate(self) -> float | None:
        return rate(self.blocks_7d, self.sent)


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
    variants: list[VariantStats] = field(default_factory=list)  # empty: no A/B test

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


def _state_counts(session: Session, broadcast_id: int) -> list[tuple[int | None, str, int]]:
    """(variant id, state, friends) of the snapshot (variant None: held out, capped, or no A/B test)."""
    query = (
        select(R.variant_id, R.state, func.count())
        .where(R.broadcast_id == broadcast_id)
        .group_by(R.variant_id, R.state)
    )
    return [tuple(row) for row in session.execute(query)]


def _variant_clicks(session: Session, broadcast_id: int) -> list[tuple[int, int, int]]:
    """(variant id, clicks, unique clickers): each click counts for the variant its friend was drawn into."""
    query = (
        select(R.variant_id, func.count(), func.count(distinct(LinkClick.friend_id)))
        .select_from(LinkClick)
        .join(R, and_(R.broadcast_id == LinkClick.broadcast_id, R.friend_id == LinkClick.friend_id))
        .where(LinkClick.broadcast_id == broadcast_id, R.variant_id.is_not(None))
        .group_by(R.variant_id)
    )
    return [tuple(row) for row in session.execute(query)]


def _failures(session: Session, broadcast_id: int) -> list[tuple[str, int]]:
    reason = func.coalesce(R.error, "")
    query = (
        select(reason, func.count())
        .where(R.broadcast_id == broadcast_id, R.state == RecipientState.FAILED)
        .group_by(reason)
        .order_by(func.count().desc(), reason)
    )
    return [(reason, count) for reason, count in session.execute(query)]


def _blocks(session: Session, broadcast_id: int) -> dict[int | None, int]:
    """Friends sent to who blocked the account within 7 days after their own send, by variant."""
    query = (
        select(R.variant_id, func.count())
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
        .group_by(R.variant_id)
    )
    return dict(session.execute(query).all())


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


def _goal(session: Session, broadcast: Broadcast, counts: dict[str, int]) -> tuple[GoalStats, dict[int, int]] | None:
    """The goal rate in the sent and control groups, counted from when sending started; and the sent friends
    who reached it by variant."""
    if not broadcast.goal or broadcast.started_at is None:
        return None
    goal = json.loads(broadcast.goal)
    start = broadcast.started_at
    reached = _reached_friends(session, goal, start, start + timedelta(days=goal["days"]))
    query = (
        select(R.state, R.variant_id, func.count())
        .where(
            R.broadcast_id == broadcast.id,
            R.state.in_((RecipientState.SENT, RecipientState.HELD_OUT)),
            R.friend_id.in_(reached),
        )
        .group_by(R.state, R.variant_id)
    )
    hits: dict[str, int] = {}
    by_variant: dict[int, int] = {}
    for state, variant_id, count in session.execute(query):
        hits[state] = hits.get(state, 0) + count
        if state == RecipientState.SENT and variant_id is not None:
            by_variant[variant_id] = count
    return GoalStats(
        kind=goal["kind"],
        target_id=goal["id"],
        days=goal["days"],
        sent_group=counts.get(RecipientState.SENT, 0),
        sent_reached=hits.get(RecipientState.SENT, 0),
        control_group=counts.get(RecipientState.HELD_OUT, 0),
        control_reached=hits.get(RecipientState.HELD_OUT, 0),
    ), by_variant


def _variants(
    session: Session, broadcast_id: int, rows, blocks: dict, goal: tuple[GoalStats, dict] | None
) -> list[VariantStats]:
    """Each variant's figures from the grouped rows; with a goal, its rate against control and against A."""
    found = {
        variant.id: VariantStats(variant.id, variant.label, variant.weight)
        for variant in broadcast_variants.rows(session, broadcast_id)
    }
    if not found:
        return []
    for variant_id, state, count in rows:
        figures = found.get(variant_id)
        if figures is not None and state in (RecipientState.QUEUED, RecipientState.SENT, RecipientState.FAILED):
            figures.recipients += count
            setattr(figures, str(state), getattr(figures, str(state)) + count)
    for variant_id, count, unique in _variant_clicks(session, broadcast_id):
        if variant_id in found:
            found[variant_id].clicks, found[variant_id].unique_clickers = count, unique
    for variant_id, count in blocks.items():
        if variant_id in found:
            found[variant_id].blocks_7d = count
    variants = list(found.values())
    if goal is not None and variants:
        totals, reached = goal
        control = Proportion(totals.control_reached, totals.control_group)
        for figures in variants:
            figures.goal = Proportion(reached.get(figures.variant_id, 0), figures.sent)
            figures.against_control = Comparison(figures.goal, control) if totals.control_group else None
            figures.against_a = Comparison(figures.goal, variants[0].goal) if figures is not variants[0] else None
    return variants


def statistics(session: Session, broadcast_id: int, *, now: datetime | None = None) -> BroadcastStats:
    """The broadcast's figures (ValueError when it does not exist). `now` does not change them: every window
    is anchored on stored send times, so the figures only grow as time passes."""
    broadcast = session.get(Broadcast, broadcast_id)
    if broadcast is None:
        raise ValueError(f"no broadcast {broadcast_id}")
    rows = _state_counts(session, broadcast_id)
    counts: dict[str, int] = {}
    for _variant_id, state, count in rows:
        counts[state] = counts.get(state, 0) + count
    clicks = click_stats.broadcast_stats(session, broadcast_id=broadcast_id)
    blocks = _blocks(session, broadcast_id)
    goal = _goal(session, broadcast, counts)
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
        blocks_7d=sum(blocks.values()),
        goal=goal[0] if goal is not None else None,
        variants=_variants(session, broadcast_id, rows, blocks, goal),
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
    """The broadcasts a friend was in (received, held out, capped, failed or queued; `variant`: the A/B variant
    drawn for them), newest first."""
    query = (
        select(
            Broadcast.id,
            Broadcast.name,
            Broadcast.started_at,
            R.state,
            R.sent_at,
            R.error,
            BroadcastVariant.label.label("variant"),
        )
        .join(R, R.broadcast_id == Broadcast.id)
        .outerjoin(BroadcastVariant, BroadcastVariant.id == R.variant_id)
        .where(R.friend_id == friend_id)
        .order_by(func.coalesce(R.sent_at, Broadcast.started_at).desc(), Broadcast.id.desc())
        .limit(limit)
    )
    return [dict(row._mapping) for row in session.execute(query)]
