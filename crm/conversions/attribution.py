"""What a broadcast or a scenario did for conversions: in its sent group and its control group (held out),
friends who converted within WINDOW_DAYS, their conversions and value, the conversion rate (CVR) and the lift
over the control group with its 95 % interval (crm.statistics); and the conversions that followed a click on
one of the broadcast's own links (attributed by click id).

Every figure is an SQL aggregate. A broadcast's window starts when sending started (the control group has no
send time of its own); a scenario's starts at each friend's enrolment.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import distinct, func, select
from sqlmodel import Session

from crm.broadcasts import recipients as broadcast_recipients
from crm.broadcasts.models import Broadcast, RecipientState
from crm.broadcasts.stats import days_after
from crm.conversions.models import Conversion
from crm.scenarios.models import Enrolment
from crm.sql import utc_literal
from crm.statistics import Comparison, Proportion, compare

WINDOW_DAYS = 7


@dataclass(frozen=True)
class GroupFigures:
    """One group: its friends, those who converted, their conversions and value (yen)."""

    friends: int = 0
    converted: int = 0
    conversions: int = 0
    value: int = 0

    @property
    def cvr(self) -> Proportion:
        return Proportion(self.converted, self.friends)


@dataclass(frozen=True)
class ConversionFigures:
    """A broadcast's or scenario's conversion figures."""

    days: int
    sent: GroupFigures
    control: GroupFigures
    clicked_conversions: int = 0  # attributed by click id to the broadcast's links
    clicked_value: int = 0

    @property
    def lift(self) -> Comparison | None:
        """The sent group's CVR against the control group's (None without a control group)."""
        if not self.control.friends:
            return None
        return compare(self.sent.converted, self.sent.friends, self.control.converted, self.control.friends)


def _grouped(session: Session, groups, in_window) -> dict[object, GroupFigures]:
    """groups: SELECT (group key, friend id, window start); one row per friend of each group."""
    members = groups.subquery()
    sizes = dict(session.execute(select(members.c.key, func.count()).group_by(members.c.key)).all())
    query = (
        select(
            members.c.key,
            func.count(distinct(Conversion.friend_id)),
            func.count(Conversion.id),
            func.coalesce(func.sum(Conversion.value), 0),
        )
        .join(Conversion, Conversion.friend_id == members.c.friend_id)
        .where(in_window(Conversion.occurred_at, members.c.start))
        .group_by(members.c.key)
    )
    found = {key: (converted, count, int(value)) for key, converted, count, value in session.execute(query)}
    return {key: GroupFigures(size, *found.get(key, (0, 0, 0))) for key, size in sizes.items()}


def broadcast_figures(session: Session, broadcast_id: int) -> ConversionFigures | None:
    """The broadcast's conversion figures (None before sending started)."""
    broadcast = session.get(Broadcast, broadcast_id)
    if broadcast is None or broadcast.started_at is None:
        return None
    start, end = broadcast.started_at, broadcast.started_at + timedelta(days=WINDOW_DAYS)
    recipient = broadcast_recipients.outcomes()
    groups = select(
        recipient.state.label("key"),
        recipient.friend_id.label("friend_id"),
        utc_literal(start).label("start"),
    ).where(
        recipient.broadcast_id == broadcast_id,
        recipient.state.in_((RecipientState.SENT, RecipientState.HELD_OUT)),
    )
    figures = _grouped(session, groups, lambda at, _start: (at >= utc_literal(start)) & (at < utc_literal(end)))
    clicked = select(func.count(), func.coalesce(func.sum(Conversion.value), 0)).where(
        Conversion.broadcast_id == broadcast_id
    )
    count, value = session.execute(clicked).one()
    return ConversionFigures(
        WINDOW_DAYS,
        figures.get(RecipientState.SENT, GroupFigures()),
        figures.get(RecipientState.HELD_OUT, GroupFigures()),
        count,
        int(value),
    )


def scenario_figures(session: Session, scenario_id: int) -> ConversionFigures:
    """The scenario's conversion figures, each friend's window starting at their enrolment."""
    groups = select(
        Enrolment.held_out.label("key"), Enrolment.friend_id.label("friend_id"), Enrolment.enrolled_at.label("start")
    ).where(Enrolment.scenario_id == scenario_id)
    figures = _grouped(session, groups, lambda at, start: days_after(session, at, start, WINDOW_DAYS))
    return ConversionFigures(WINDOW_DAYS, figures.get(False, GroupFigures()), figures.get(True, GroupFigures()))
