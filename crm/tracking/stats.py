"""Click counts: per link, per tracking context, per broadcast, and a friend's latest clicks."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import distinct, func, select
from sqlmodel import Session

from crm.tracking.models import LinkClick, TrackedLink


@dataclass(frozen=True)
class LinkStats:
    """Clicks (every click) and unique clickers (friends who clicked at least once)."""

    clicks: int = 0
    unique_clickers: int = 0


def link_stats(session: Session, *, link_ids: list[int]) -> dict[int, LinkStats]:
    """Clicks and unique clickers of each link (links without clicks get zeros)."""
    query = (
        select(LinkClick.link_id, func.count(), func.count(distinct(LinkClick.friend_id)))
        .where(LinkClick.link_id.in_(link_ids))
        .group_by(LinkClick.link_id)
    )
    found = {link_id: LinkStats(clicks, unique) for link_id, clicks, unique in session.execute(query)}
    return {link_id: found.get(link_id, LinkStats()) for link_id in link_ids}


def source_stats(session: Session, *, source: str) -> list[tuple[str, LinkStats]]:
    """(destination, clicks) of every link tracked in one context, e.g. a rich menu's URL areas."""
    links = session.execute(
        select(TrackedLink.id, TrackedLink.destination).where(TrackedLink.source == source).order_by(TrackedLink.id)
    ).all()
    stats = link_stats(session, link_ids=[link_id for link_id, _ in links])
    return [(destination, stats[link_id]) for link_id, destination in links]


def broadcast_stats(session: Session, *, broadcast_id: int) -> LinkStats:
    """Clicks and unique clickers over every link of a broadcast."""
    query = select(func.count(), func.count(distinct(LinkClick.friend_id))).where(
        LinkClick.broadcast_id == broadcast_id
    )
    clicks, unique = session.execute(query).one()
    return LinkStats(clicks, unique)


def broadcast_destinations(session: Session, *, broadcast_id: int) -> list[tuple[str, LinkStats]]:
    """(destination, clicks) of every URL a broadcast tracked (its links with the same destination counted
    together), most clicked first."""
    query = (
        select(TrackedLink.destination, func.count(LinkClick.id), func.count(distinct(LinkClick.friend_id)))
        .select_from(TrackedLink)
        .outerjoin(LinkClick, LinkClick.link_id == TrackedLink.id)
        .where(TrackedLink.broadcast_id == broadcast_id)
        .group_by(TrackedLink.destination)
        .order_by(func.count(LinkClick.id).desc(), TrackedLink.destination)
    )
    return [(destination, LinkStats(clicks, unique)) for destination, clicks, unique in session.execute(query)]


def clicks_for_friend(session: Session, friend_id: int, limit: int = 50) -> list[dict]:
    """A friend's latest clicks, newest first: time, destination, source, broadcast and user agent."""
    query = (
        select(
            LinkClick.clicked_at,
            LinkClick.user_agent,
            LinkClick.broadcast_id,
            LinkClick.link_id,
            TrackedLink.destination,
            TrackedLink.source,
        )
        .join(TrackedLink, TrackedLink.id == LinkClick.link_id)
        .where(LinkClick.friend_id == friend_id)
        .order_by(LinkClick.clicked_at.desc(), LinkClick.id.desc())
        .limit(limit)
    )
    return [dict(row._mapping) for row in session.execute(query)]
