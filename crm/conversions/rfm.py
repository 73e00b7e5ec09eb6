"""RFM scores and value deciles of purchases (conversions with a yen value), computed in SQL.

One statement replaces the table: per friend the last purchase, the number of purchases and their total, then
window functions over all buyers (erased friends left out). Scores are quintiles of the percent rank (5 best:
the latest, most frequent, highest spending fifth), so friends with equal figures share a score (most people buy
once: they are all F 1).
Deciles are NTILE(10) over the total, highest first (ties broken by friend id), so each holds a tenth of the
buyers: the decile table shows the share of value each tenth brings (ABC / Pareto). Works on SQLite (3.25+) and
PostgreSQL alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, delete, func, select, text
from sqlmodel import Session

from crm.conversions.models import RfmScore
from crm.timeutil import UTCDateTime

QUINTILE = """CASE WHEN {rank} < 0.2 THEN 1 WHEN {rank} < 0.4 THEN 2 WHEN {rank} < 0.6 THEN 3
  WHEN {rank} < 0.8 THEN 4 ELSE 5 END"""
_RECOMPUTE = text(f"""
INSERT INTO rfm_score (friend_id, last_purchase_at, frequency, monetary, recency_score, frequency_score,
  monetary_score, decile, computed_at)
SELECT friend_id, last_at, frequency, monetary,
  {QUINTILE.format(rank="r_rank")}, {QUINTILE.format(rank="f_rank")}, {QUINTILE.format(rank="m_rank")}, decile, :now
FROM (
  SELECT friend_id, last_at, frequency, monetary,
    PERCENT_RANK() OVER (ORDER BY last_at) AS r_rank,
    PERCENT_RANK() OVER (ORDER BY frequency) AS f_rank,
    PERCENT_RANK() OVER (ORDER BY monetary) AS m_rank,
    NTILE(10) OVER (ORDER BY monetary DESC, friend_id) AS decile
  FROM (
    SELECT friend_id, MAX(occurred_at) AS last_at, COUNT(*) AS frequency, SUM(value) AS monetary
    FROM conversion
    WHERE value IS NOT NULL AND friend_id NOT IN (SELECT id FROM friend WHERE status = 'erased')
    GROUP BY friend_id
  ) AS purchases
) AS ranked
""").bindparams(bindparam("now", type_=UTCDateTime()))
ABC_LIMITS = (("A", 0.7), ("B", 0.9))  # cumulative share of value up to which a decile is class A, then B; C after


def recompute(session: Session, *, now: datetime) -> int:
    """Replace every friend's scores from the purchases as they are; return how many buyers were scored."""
    session.execute(delete(RfmScore))
    session.execute(_RECOMPUTE, {"now": now})
    return session.scalar(select(func.count()).select_from(RfmScore)) or 0


@dataclass(frozen=True)
class Cell:
    """Friends and their total value in one R × F cell (or one decile)."""

    friends: int = 0
    value: int = 0


def grid(session: Session) -> dict[tuple[int, int], Cell]:
    """(recency score, frequency score) → friends and value."""
    query = select(
        RfmScore.recency_score, RfmScore.frequency_score, func.count(), func.coalesce(func.sum(RfmScore.monetary), 0)
    ).group_by(RfmScore.recency_score, RfmScore.frequency_score)
    return {(r, f): Cell(count, int(value)) for r, f, count, value in session.execute(query)}


@dataclass(frozen=True)
class DecileRow:
    """One decile: its friends, value, share of all value, cumulative share and ABC class."""

    decile: int
    friends: int
    value: int
    share: float
    cumulative: float
    rank_class: str


def deciles(session: Session) -> list[DecileRow]:
    """The ten deciles, top first (empty deciles left out when there are fewer than ten buyers)."""
    query = (
        select(RfmScore.decile, func.count(), func.coalesce(func.sum(RfmScore.monetary), 0))
        .group_by(RfmScore.decile)
        .order_by(RfmScore.decile)
    )
    rows = [(decile, count, int(value)) for decile, count, value in session.execute(query)]
    total = sum(value for _d, _c, value in rows) or 1
    found, running = [], 0
    for decile, count, value in rows:
        before = running / total
        running += value
        rank_class = next((name for name, limit in ABC_LIMITS if before < limit), "C")
        found.append(DecileRow(decile, count, value, value / total, running / total, rank_class))
    return found


def last_computed(session: Session) -> datetime | None:
    """When the scores were last recomputed (None: never, or nobody has bought)."""
    return session.scalar(select(func.max(RfmScore.computed_at)))
