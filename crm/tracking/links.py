"""Tracked links: destinations checked, links and per-friend tokens created once, URLs in texts rewritten.

A friend's link is `PUBLIC_BASE_URL/r/<token>`, where the token is 16 random bytes in base64url (22
characters, 128 bits) stored in link_token with the link and the friend. Random and stored rather than
signed: nothing can be forged without the database, no key to rotate breaks links already sitting in
chats, and a link can be revoked by deleting its row. The redirect does one primary-key lookup.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from urllib.parse import quote, urlsplit, urlunsplit

from sqlalchemy import select
from sqlmodel import Session

from crm.errors import TranslatableError
from crm.sql import insert_for
from crm.tracking.models import DESTINATION_MAX_CHARS, LinkToken, TrackedLink

TOKEN_BYTES = 16
TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]{22}")
URL_MAX_CHARS = 1000  # LINE's limit for a URI action
# RFC 3986 characters only: a URL ends at a space, a quote-less bracket or any Japanese character.
URL_IN_TEXT = re.compile(r"https?://[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+", re.IGNORECASE)
TRAILING_PUNCTUATION = ".,;:!?'*"
URI_SAFE = "/?#[]@!$&'()*+,;=%~:"


LinkHook = Callable[[Session, TrackedLink], None]
_new_link_hooks: list[LinkHook] = []


class TrackingError(TranslatableError):
    """A link that cannot be tracked, with a message id for the user."""


def on_new_link(callback: LinkHook) -> LinkHook:
    """Run callback(session, link) for every link created, in its transaction (e.g. conversions marking links to
    a shop's site to carry a click id); registering it again has no effect."""
    if callback not in _new_link_hooks:
        _new_link_hooks.append(callback)
    return callback


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
    scenario_variant_id: int | None = None,
) -> TrackedLink:
    """Create a tracked link to an http(s) destination."""
    link = TrackedLink(
        destination=check_destination(destination),
        source=source,
        tag_id=tag_id,
        broadcast_id=broadcast_id,
        scenario_variant_id=scenario_variant_id,
    )
    session.add(link)
    session.flush()
    for callback in tuple(_new_link_hooks):
        callback(session, link)
    return link


def find_or_create_link(
    session: Session,
    *,
    destination: str,
    source: str | None = None,
    tag_id: int | None = None,
    broadcast_id: int | None = None,
    scenario_variant_id: int | None = None,
) -> TrackedLink:
    """Return the link for this destination in this context (broadcast or scenario variant, source, tag),
    creating it once."""
    query = (
        select(TrackedLink)
        .where(
            TrackedLink.destination == destination,
            _same(TrackedLink.source, source),
            _same(TrackedLink.tag_id, tag_id),
            _same(TrackedLink.broadcast_id, broadcast_id),
            _same(TrackedLink.scenario_variant_id, scenario_variant_id),
        )
        .order_by(TrackedLink.id)
    )
    link = session.scalars(query.limit(1)).first()
    return link or create_link(
        session,
        destination=destination,
        source=source,
        tag_id=tag_id,
        broadcast_id=broadcast_id,
        scenario_variant_id=scenario_variant_id,
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
    scenario_variant_id: int | None = None,
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
                session,
                destination=url,
                source=source,
                tag_id=tag_id,
                broadcast_id=broadcast_id,
                scenario_variant_id=scenario_variant_id,
            )
        except TrackingError:
            continue  # not trackable: the friend gets it as written
        pieces += [
            text[position:start],
            tracked_url(base_url, token_for(session, link_id=link.id, friend_id=friend_id)),
        ]
        position = end
    return "".join(pieces) + text[position:]
