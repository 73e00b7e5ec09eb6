"""Click tracking: tracked links, per-friend links in texts, clicks, counts, and tags added on click.

A friend's link is `PUBLIC_BASE_URL/r/<token>`, where the token is 16 random bytes in base64url (22
characters, 128 bits) stored in link_token with the link and the friend. Random and stored rather than
signed: nothing can be forged without the database, no key to rotate breaks links already sitting in
chats, and a link can be revoked by deleting its row. The redirect does one primary-key lookup.
"""

from __future__ import annotations

import functools
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote, urlsplit, urlunsplit

from sqlalchemy import bindparam, delete, distinct, func, select, text
from sqlalchemy.engine import Connection
from sqlmodel import Session

from crm.errors import TranslatableError
from crm.sql import insert_for
from crm.staff.audit import Actor
from crm.tags import service as tags
from crm.timeutil import utcnow
from crm.tracking.models import (
    DESTINATION_MAX_CHARS,
    USER_AGENT_MAX_CHARS,
    ClickAction,
    LinkClick,
    LinkToken,
    TrackedLink,
)

TOKEN_BYTES = 16
TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]{22}")
URL_MAX_CHARS = 1000  # LINE's limit for a URI action
# RFC 3986 characters only: a URL ends at a space, a quote-less bracket or any Japanese character.
URL_IN_TEXT = re.compile(r"https?://[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+", re.IGNORECASE)
TRAILING_PUNCTUATION = ".,;:!?'*"
URI_SAFE = "/?#[]@!$&'()*+,;=%~:"
# Robots that fetch a link to show a preview of it (LINE's own, other chat apps, search engines): they get
# the redirect but are not counted as clicks.
PREVIEW_AGENTS = re.compile(
    r"facebookexternalhit|line-poker|Line-Crawler|Twitterbot|Slackbot|Discordbot"
    r"|WhatsApp|TelegramBot|Googlebot|bingbot|SkypeUriPreview",
    re.IGNORECASE,
)


class TrackingError(TranslatableError):
    """A link that cannot be tracked, with a message id for the user."""


@dataclass(frozen=True)
class ClickTarget:
    """What the redirect needs for one token."""

    link_id: int
    friend_id: int | None  # None: an anonymous token
    destination: str
    broadcast_id: int | None
    tag_id: int | None


@dataclass(frozen=True)
class LinkStats:
    """Clicks (every click) and unique clickers (friends who clicked at least once)."""

    clicks: int = 0
    unique_clickers: int = 0


def is_link_preview(user_agent: str | None) -> bool:
    """Whether a request comes from a robot building a link preview rather than from a person."""
    return bool(user_agent) and PREVIEW_AGENTS.search(user_agent) is not None


def check_destination(url: str) -> str:
    """Return the URL if it may be a tracked destination (http or https with a host); raise TrackingError."""
    url = (url or "").strip()
    if len(url) > DESTINATION_MAX_CHARS:
        raise TrackingError("The link is longer than %(limit)s characters.", limit=DESTINATION_MAX_CHARS)
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise TrackingError("The link must not contain spaces.")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises ValueError for a port that is not a number in range)
    except ValueError:
        raise TrackingError("The link is not a valid URL.") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise TrackingError("Only http and https links can be tracked.")
    return url if url.isascii() else _ascii_url(parts)


def _ascii_url(parts) -> str:
    """The URI form of an IRI (IDNA host, UTF-8 percent-encoded path, query and fragment): a valid Location."""
    try:
        netloc = parts.netloc if parts.netloc.isascii() else parts.netloc.encode("idna").decode("ascii")
    except UnicodeError:
        raise TrackingError("The link is not a valid URL.") from None
    rest = (quote(part, safe=URI_SAFE) for part in (parts.path, parts.query, parts.fragment))
    return urlunsplit((parts.scheme, netloc, *rest))


def create_link(
    session: Session,
    *,
    destination: str,
    source: str | None = None,
    tag_id: int | None = None,
    broadcast_id: int | None = None,
) -> TrackedLink:
    """Create a tracked link to an http(s) destination."""
    link = TrackedLink(
        destination=check_destination(destination), source=source, tag_id=tag_id, broadcast_id=broadcast_id
    )
    session.add(link)
    session.flush()
    return link


def find_or_create_link(
    session: Session,
    *,
    destination: str,
    source: str | None = None,
    tag_id: int | None = None,
    broadcast_id: int | None = None,
) -> TrackedLink:
    """Return the link for this destination in this context (broadcast, source, tag), creating it once."""
    query = (
        select(TrackedLink)
        .where(
            TrackedLink.destination == destination,
            _same(TrackedLink.source, source),
            _same(TrackedLink.tag_id, tag_id),
            _same(TrackedLink.broadcast_id, broadcast_id),
        )
        .order_by(TrackedLink.id)
    )
    link = session.scalars(query.limit(1)).first()
    return link or create_link(
        session, destination=destination, source=source, tag_id=tag_id, broadcast_id=broadcast_id
    )


def _same(column, value):
    return column.is_(None) if value is None else column == value


def token_for(session: Session, *, link_id: int, friend_id: int | None) -> str:
    """Return the friend's token for a link, creating it on first use (the same token every time).

    friend_id None is the link's anonymous token (one per link; a race may create two, both work)."""
    if friend_id is None:  # NULLs never conflict: look for the link's anonymous token first
        existing = _existing_token(session, link_id, None)
        if existing:
            return existing
    statement = (
        insert_for(session, LinkToken.__table__)
        .values(
            token=secrets.token_urlsafe(TOKEN_BYTES),
            link_id=link_id,
            friend_id=friend_id,
        )
        .on_conflict_do_nothing(index_elements=["link_id", "friend_id"])
        .returning(LinkToken.__table__.c.token)
    )
    created = session.connection().execute(statement).scalar()  # one statement for a new token
    return created or _existing_token(session, link_id, friend_id)


def _existing_token(session: Session, link_id: int, friend_id: int | None) -> str | None:
    query = select(LinkToken.token).where(LinkToken.link_id == link_id, _same(LinkToken.friend_id, friend_id))
    return session.connection().execute(query.order_by(LinkToken.token).limit(1)).scalar()


def anonymous_url(session: Session, *, destination: str, base_url: str, source: str) -> str:
    """The one tracked URL of a destination shown to everyone alike (a rich menu's URL area): clicks are
    counted but nobody is attributed. A destination that cannot be tracked is returned unchanged."""
    if not base_url or destination.startswith(tracked_url(base_url, "")):
        return destination
    try:
        link = find_or_create_link(session, destination=destination, source=source)
    except TrackingError:
        return destination
    return tracked_url(base_url, token_for(session, link_id=link.id, friend_id=None))


def tracked_url(base_url: str, token: str) -> str:
    """The public redirect URL of a token."""
    return f"{base_url.rstrip('/')}/r/{token}"


def find_urls(text: str) -> list[tuple[int, int]]:
    """Return (start, end) of each http(s) URL in a text, without trailing punctuation or unopened ')'."""
    spans = []
    for match in URL_IN_TEXT.finditer(text):
        url = match.group()
        while url and (url[-1] in TRAILING_PUNCTUATION or (url[-1] == ")" and url.count(")") > url.count("("))):
            url = url[:-1]
        try:
            if urlsplit(url).hostname:
                spans.append((match.start(), match.start() + len(url)))
        except ValueError:
            continue  # not a URL after all (e.g. "http://[oops"): left as typed
    return spans


def rewrite_links(
    session: Session,
    *,
    text: str,
    friend_id: int,
    base_url: str,
    source: str | None,
    tag_id: int | None = None,
    broadcast_id: int | None = None,
    track: bool = True,
) -> str:
    """Replace every http(s) URL in a text with the friend's tracked URL; with track=False, change nothing."""
    if not track or not text:
        return text
    own_prefix = tracked_url(base_url, "")
    pieces, position = [], 0
    for start, end in find_urls(text):
        url = text[start:end]
        if url.startswith(own_prefix) or len(url) > DESTINATION_MAX_CHARS:
            continue
        try:
            link = find_or_create_link(
                session, destination=url, source=source, tag_id=tag_id, broadcast_id=broadcast_id
            )
        except TrackingError:
            continue  # not trackable: the friend gets it as written
        pieces += [
            text[position:start],
            tracked_url(base_url, token_for(session, link_id=link.id, friend_id=friend_id)),
        ]
        position = end
    return "".join(pieces) + text[position:]


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
    """Return what a token points to, or None for a malformed or unknown token.

    The hot-path functions take a Core connection (a session's is `session.connection()`): the redirect
    skips the ORM.
    """
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
