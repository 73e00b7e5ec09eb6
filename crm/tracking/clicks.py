"""Clicks: the redirect's token lookup, storing a click, and the on-click tags the worker applies later.

The hot-path functions take a Core connection (a session's is `session.connection()`): the redirect skips
the ORM.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, delete, select, text
from sqlalchemy.engine import Connection
from sqlmodel import Session

from crm.staff.audit import Actor
from crm.tags import service as tags
from crm.timeutil import utcnow
from crm.tracking.links import TOKEN_PATTERN
from crm.tracking.models import USER_AGENT_MAX_CHARS, ClickAction, LinkClick, LinkToken, TrackedLink

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


def is_link_preview(user_agent: str | None) -> bool:
    """Whether a request comes from a robot building a link preview rather than from a person."""
    return bool(user_agent) and PREVIEW_AGENTS.search(user_agent) is not None


@functools.cache
def _target_statement():
    """The redirect's lookup: token → link and friend, by primary keys, built once."""
    token, link = LinkToken.__table__, TrackedLink.__table__
    return (
        select(token.c.link_id, token.c.friend_id, link.c.destination, link.c.broadcast_id, link.c.tag_id)
        .join_from(token, link, link.c.id == token.c.link_id)
        .where(token.c.token == bindparam("token"))
    )


def find_target(connection: Connection, token: str) -> ClickTarget | None:
    """Return what a token points to, or None for a malformed or unknown token."""
    if not isinstance(token, str) or not TOKEN_PATTERN.fullmatch(token):
        return None
    row = connection.execute(_target_statement(), {"token": token}).first()
    return ClickTarget(*row) if row else None


# PostgreSQL: lookup, click and queued action in one statement, so an autocommit connection makes one round
# trip per click instead of BEGIN, SELECT, INSERT, COMMIT.
_PG_CLICK = text("""
WITH target AS (
  SELECT t.link_id, t.friend_id, l.destination, l.broadcast_id, l.tag_id
  FROM link_token AS t JOIN tracked_link AS l ON l.id = t.link_id WHERE t.token = :token
), clicked AS (
  INSERT INTO link_click (link_id, friend_id, broadcast_id, clicked_at, user_agent)
  SELECT link_id, friend_id, broadcast_id, :now, :user_agent FROM target
), queued AS (
  INSERT INTO click_action (link_id, friend_id, tag_id, queued_at)
  SELECT link_id, friend_id, tag_id, :now FROM target WHERE tag_id IS NOT NULL AND friend_id IS NOT NULL
)
SELECT link_id, friend_id, destination, broadcast_id, tag_id FROM target
""")


def click(connection: Connection, *, token: str, user_agent: str | None) -> ClickTarget | None:
    """Look a token up and store its click (and queued action); None for an unknown token. Caller commits."""
    if connection.dialect.name != "postgresql":
        target = find_target(connection, token)
        if target is not None:
            record_click(connection, target=target, user_agent=user_agent)
        return target
    if not isinstance(token, str) or not TOKEN_PATTERN.fullmatch(token):
        return None
    row = connection.execute(_PG_CLICK, {"token": token, "now": utcnow(), "user_agent": _agent(user_agent)}).first()
    return ClickTarget(*row) if row else None


def _agent(user_agent: str | None) -> str | None:
    return user_agent[:USER_AGENT_MAX_CHARS] if user_agent else None


_INSERT_CLICK = LinkClick.__table__.insert()
_INSERT_ACTION = ClickAction.__table__.insert()


def record_click(
    connection: Connection, *, target: ClickTarget, user_agent: str | None, now: datetime | None = None
) -> None:
    """Store a click; queue its tag action (applied later by apply_click_actions) when the link has one and
    the click is a friend's."""
    now = now or utcnow()
    connection.execute(
        _INSERT_CLICK,
        {
            "link_id": target.link_id,
            "friend_id": target.friend_id,
            "broadcast_id": target.broadcast_id,
            "clicked_at": now,
            "user_agent": _agent(user_agent),
        },
    )
    if target.tag_id is not None and target.friend_id is not None:
        connection.execute(
            _INSERT_ACTION,
            {"link_id": target.link_id, "friend_id": target.friend_id, "tag_id": target.tag_id, "queued_at": now},
        )


def apply_click_actions(session: Session, *, limit: int = 500) -> int:
    """Add the queued on-click tags (oldest first) through the tag service; return how many were applied.

    Rows are claimed with FOR UPDATE SKIP LOCKED on PostgreSQL, so several workers can share the queue.
    """
    query = select(ClickAction).order_by(ClickAction.id).limit(limit).with_for_update(skip_locked=True)
    actions = list(session.scalars(query))
    for action in actions:
        try:
            tags.add_tag(
                session, friend_id=action.friend_id, tag_id=action.tag_id, actor=Actor.system(f"click:{action.link_id}")
            )
        except tags.TagError:
            pass  # the tag was deleted after the click: nothing to add
    if actions:
        session.execute(delete(ClickAction).where(ClickAction.id.in_([action.id for action in actions])))
    return len(actions)
