"""Clicks: the redirect's token lookup, storing a click, and the link's actions the worker runs later.

The click's statements are Core statements (the redirect's click_writer compiles them once for the driver);
the functions here take a Core connection (a session's is `session.connection()`).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy import bindparam, delete, select, text
from sqlalchemy.engine import Connection
from sqlmodel import Session

from crm.actions import engine as action_engine
from crm.errors import N_
from crm.staff.audit import Actor, record
from crm.timeutil import UTCDateTime, utcnow
from crm.tracking.links import TOKEN_PATTERN, TrackingError
from crm.tracking.models import USER_AGENT_MAX_CHARS, ClickAction, LinkClick, LinkToken, TrackedLink, TrackingCursor
from crm.triggers import Trigger, TriggerEvent, fire_many

CLICK_TRIGGER_CURSOR = "link_clicked_trigger"
CLICK_SETTLE = timedelta(seconds=5)
T = TypeVar("T")

# Robots that fetch a link to show a preview of it (LINE's own, other chat apps, search engines): they get
# the redirect but are not counted as clicks.
PREVIEW_AGENTS = re.compile(
    r"facebookexternalhit|line-poker|Line-Crawler|Twitterbot|Slackbot|Discordbot"
    r"|WhatsApp|TelegramBot|Googlebot|bingbot|SkypeUriPreview",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class ClickTarget:
    """What the redirect needs for one token."""

    link_id: int
    friend_id: int | None  # None: an anonymous token
    destination: str
    broadcast_id: int | None
    tag_id: int | None
    has_actions: bool = False  # the link carries a list of actions (queued for the worker on a friend's click)
    carries_click_id: bool = False  # a conversion-tracking link: the destination gets the click's signed id
    click_id: int | None = None  # the stored click (set by `click`)


def is_link_preview(user_agent: str | None) -> bool:
    """Whether a request comes from a robot building a link preview rather than from a person."""
    return bool(user_agent) and PREVIEW_AGENTS.search(user_agent) is not None


@functools.cache
def target_statement():
    """The redirect's lookup: token → link and friend, by primary keys, built once."""
    token, link = LinkToken.__table__, TrackedLink.__table__
    return (
        select(
            token.c.link_id,
            token.c.friend_id,
            link.c.destination,
            link.c.broadcast_id,
            link.c.tag_id,
            link.c.actions.is_not(None),
            link.c.carries_click_id,
        )
        .join_from(token, link, link.c.id == token.c.link_id)
        .where(token.c.token == bindparam("token"))
    )


def find_target(connection: Connection, token: str) -> ClickTarget | None:
    """Return what a token points to, or None for a malformed or unknown token."""
    if not isinstance(token, str) or not TOKEN_PATTERN.fullmatch(token):
        return None
    row = connection.execute(target_statement(), {"token": token}).first()
    return ClickTarget(*row) if row else None


# PostgreSQL: lookup, click and queued action in one statement, so an autocommit connection makes one round
# trip per click instead of BEGIN, SELECT, INSERT, COMMIT.
PG_CLICK = text("""
WITH target AS (
  SELECT t.link_id, t.friend_id, l.destination, l.broadcast_id, l.tag_id, l.actions IS NOT NULL AS has_actions,
    l.carries_click_id
  FROM link_token AS t JOIN tracked_link AS l ON l.id = t.link_id WHERE t.token = :token
), clicked AS (
  INSERT INTO link_click (link_id, friend_id, broadcast_id, clicked_at, user_agent)
  SELECT link_id, friend_id, broadcast_id, :now, :user_agent FROM target
  RETURNING id
), queued AS (
  INSERT INTO click_action (link_id, friend_id, click_id, tag_id, queued_at)
  SELECT link_id, friend_id, (SELECT id FROM clicked), tag_id, :now FROM target
  WHERE (tag_id IS NOT NULL OR has_actions) AND friend_id IS NOT NULL
)
SELECT link_id, friend_id, destination, broadcast_id, tag_id, has_actions, carries_click_id,
  (SELECT id FROM clicked) FROM target
""")


def clipped_agent(user_agent: str | None) -> str | None:
    """The User-Agent as stored (its first USER_AGENT_MAX_CHARS characters)."""
    return user_agent[:USER_AGENT_MAX_CHARS] if user_agent else None


def queues_action(target: ClickTarget) -> bool:
    """Whether a click on the target is queued for the link's actions: a friend's click on a link with some."""
    return (target.tag_id is not None or target.has_actions) and target.friend_id is not None


_click_table, _action_table = LinkClick.__table__, ClickAction.__table__
# Named parameters (values from the redirect: token, now, user_agent, and the target's ids).
INSERT_CLICK = (
    _click_table.insert()
    .values(
        link_id=bindparam("link_id"),
        friend_id=bindparam("friend_id"),
        broadcast_id=bindparam("broadcast_id"),
        clicked_at=bindparam("now", type_=UTCDateTime()),
        user_agent=bindparam("user_agent"),
    )
    .returning(_click_table.c.id)
)
INSERT_ACTION = _action_table.insert().values(
    link_id=bindparam("link_id"),
    friend_id=bindparam("friend_id"),
    click_id=bindparam("click_id"),
    tag_id=bindparam("tag_id"),
    queued_at=bindparam("now", type_=UTCDateTime()),
)


def record_click(
    connection: Connection, *, target: ClickTarget, user_agent: str | None, now: datetime | None = None
) -> int:
    """Store a click and return its id; queue it for the link's actions (run later by apply_click_actions) when
    the link has some and the click is a friend's. (The redirect itself uses click_writer, the same statements
    on the driver's connection.)"""
    values = {
        "link_id": target.link_id,
        "friend_id": target.friend_id,
        "broadcast_id": target.broadcast_id,
        "tag_id": target.tag_id,
        "now": now or utcnow(),
        "user_agent": clipped_agent(user_agent),
    }
    click_id = connection.execute(INSERT_CLICK, values).scalar_one()
    if queues_action(target):
        connection.execute(INSERT_ACTION, {**values, "click_id": click_id})
    return click_id


def link_actions(link: TrackedLink | None) -> list[dict]:
    """What a friend's click on the link does: its list of actions, else adding its tag."""
    if link is None:
        return []
    if link.actions is not None:
        value = json.loads(link.actions)
        return value if isinstance(value, list) else []
    return [{"type": "add_tag", "tag_id": link.tag_id}] if link.tag_id else []


def set_link_actions(session: Session, *, link_id: int, actions: list[dict], actor: Actor) -> TrackedLink:
    """Set what a friend's click on the link does (validated by the action engine; an empty list: nothing)."""
    link = session.get(TrackedLink, link_id)
    if link is None:
        raise TrackingError(N_("This link no longer exists."))
    checked = action_engine.validate_actions(session, actions)
    before = link_actions(link)
    link.actions = json.dumps(checked, ensure_ascii=False, sort_keys=True)
    session.add(link)
    record(
        session, actor=actor, action="link.actions", target_type="link", target_id=link_id, before=before, after=checked
    )
    return link


def click_trigger_key(queued) -> str:
    """The action runs' trigger key of a queued click: its click's id (rows queued before migration 0038: the
    queue row's id, as then)."""
    return f"link_click:{queued.click_id}" if queued.click_id is not None else f"click_action:{queued.id}"


def apply_click_actions(session: Session, *, limit: int = 500) -> int:
    """Run the queued clicks' link actions (oldest first) through the action engine, once per queued click, in
    set-based batches (run_actions_many: one tag added to all the batch's clicking friends at once); return how
    many clicks were handled.

    Rows are claimed with FOR UPDATE SKIP LOCKED on PostgreSQL, so several workers can share the queue.
    """
    table = ClickAction.__table__
    query = (
        select(table.c.id, table.c.link_id, table.c.friend_id, table.c.click_id)
        .order_by(table.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    queued = session.connection().execute(query).all()
    links = {link_id: session.get(TrackedLink, link_id) for link_id in {row.link_id for row in queued}}
    triggered = [
        action_engine.Triggered(
            friend_id=row.friend_id,
            actions=link_actions(links[row.link_id]),
            trigger_key=click_trigger_key(row),
            source=f"link:{row.link_id}",
        )
        for row in queued
    ]
    action_engine.run_actions_many(session, triggered)
    if queued:
        session.connection().execute(delete(table).where(table.c.id.in_([row.id for row in queued])))
    return len(queued)


def settled(rows: Sequence[T], *, now: datetime, clicked_at: Callable[[T], datetime]) -> list[T]:
    """The leading rows of a cursor's read (in click id order) up to the first click younger than CLICK_SETTLE.

    Ids of concurrent inserts commit out of order, so the newest clicks are left for a later read; and a later
    id may carry an earlier time (its process stamped the click first; or its host's clock is a little behind),
    so the read stops at the first unsettled click rather than skipping it: a cursor never passes a click."""
    cutoff = now - CLICK_SETTLE
    for index, row in enumerate(rows):
        if clicked_at(row) > cutoff:
            return list(rows[:index])
    return list(rows)


def fire_click_triggers(session: Session, *, now: datetime, limit: int = 1000) -> int:
    """Fire the link-clicked trigger for friends' clicks stored since the last call (worker; the redirect does
    no extra work); read a little late (`settled`). Returns how many clicks were read (anonymous ones fire
    nothing)."""
    cursor = session.get(TrackingCursor, CLICK_TRIGGER_CURSOR, with_for_update=True)
    if cursor is None:  # the migration creates it; a database restored without it starts from the beginning
        cursor = TrackingCursor(name=CLICK_TRIGGER_CURSOR, last_id=0)
        session.add(cursor)
    read = session.execute(
        select(LinkClick.id, LinkClick.link_id, LinkClick.friend_id, LinkClick.clicked_at)
        .where(LinkClick.id > cursor.last_id)
        .order_by(LinkClick.id)
        .limit(limit)
    ).all()
    rows = settled(read, now=now, clicked_at=lambda row: row.clicked_at)
    fire_many(
        session,
        [
            Trigger(TriggerEvent.LINK_CLICKED, friend_id, key=f"click:{click}", occurred_at=clicked_at, ref_id=link)
            for click, link, friend_id, clicked_at in rows
            if friend_id is not None
        ],
    )
    if rows:
        cursor.last_id = rows[-1][0]
    return len(rows)
