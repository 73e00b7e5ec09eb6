"""The talk view: everything a friend saw and did, merged from the features that recorded it.

Each feature's rows are read by a source (`register_talk_source`): given a window it returns at most `limit`
items nearest the cursor (`bounded`), reading its own index by friend and time. The view merges the sources'
items and keeps `limit` of them, so a page costs a few indexed queries per source whatever the friend's history
holds. Items are ordered by (time, source, row id); a cursor is that key as text, so paging back and polling for
new items never skip nor repeat an item, even when several share a timestamp.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

PAGE_SIZE = 40
PREVIEW_MAX = 500


class Side:
    """Where an item sits in the talk view."""

    FRIEND = "friend"  # what the friend sent or did
    ACCOUNT = "account"  # what the account sent
    EVENT = "event"  # a follow, a block, a tap or a click, shown across the view


@dataclass(frozen=True)
class TalkItem:
    """One thing of the friend's history as the talk view shows it."""

    at: datetime
    source: str  # the source's name (its CSS class and the key's middle part)
    ref: int  # the row's id within its source
    side: str
    origin: str  # where it came from, in words: 「スタッフの返信」「配信「春のセール」」
    text: str | None = None
    kind: str = "text"  # text, sticker, image, video, audio, file, media, event
    image_url: str | None = None
    label: str | None = None  # what stands for non-text content: 「スタンプ (11537/52002734)」「画像」, a file's name
    from_line: bool = False  # an image, video, voice message or file the friend sent, read from LINE (by `ref`)
    detail: str | None = None  # a video's or voice message's length (「0:42」), a file's size (「12.5 KB」)

    @property
    def sort_key(self) -> tuple:
        return (self.at, self.source, self.ref)

    @property
    def key(self) -> str:
        return cursor_of(self.sort_key)


@dataclass(frozen=True)
class Window:
    """The items a page asks for: after one cursor (polling) or before one (older items), at most `limit`.

    Sources read strictly after or before the cursor's time; the items sharing that very time are read apart
    (`at`), and cut by the full key in Python."""

    after: tuple | None = None
    before: tuple | None = None
    limit: int = PAGE_SIZE
    at: datetime | None = None  # only the items of this instant

    def holds(self, item: TalkItem) -> bool:
        key = item.sort_key
        return (self.after is None or key > self.after) and (self.before is None or key < self.before)

    def at_cursor(self) -> Window | None:
        """The window of the items that share the cursor's time."""
        cursor = self.after or self.before
        return None if cursor is None else Window(self.after, self.before, self.limit, at=cursor[0])


# fetch(session, friend_id, window) -> at most window.limit items of the window, through `bounded`
TalkSource = Callable[[Session, int, Window], list[TalkItem]]
_sources: dict[str, TalkSource] = {}


def register_talk_source(name: str, fetch: TalkSource) -> None:
    """Add a source of talk items (registering a name again replaces it)."""
    _sources[name] = fetch


# describe(session, data) -> what a menu tap did, in words (None: leave it unnamed)
PostbackDescriber = Callable[[Session, str], str | None]
_postback_words: dict[str, PostbackDescriber] = {}


def register_postback_words(prefix: str, describe: PostbackDescriber) -> None:
    """Say the postbacks whose data starts with prefix in words (a survey's 「アンケート「…」を開始」)."""
    _postback_words[prefix] = describe


def describe_postback(session: Session, data: str) -> str | None:
    """A postback's meaning in words, from the feature that owns its prefix; None when no feature names it."""
    for prefix, describe in _postback_words.items():
        if data.startswith(prefix):
            return describe(session, data)
    return None


def talk_page(session: Session, *, friend_id: int, window: Window) -> tuple[list[TalkItem], bool]:
    """The window's items oldest first, and whether older items remain (before the first one returned).

    Polling (a window with `after`) returns the oldest new items first, so a burst is delivered in order over
    successive polls."""
    probe = Window(window.after, window.before, window.limit + 1)
    windows = [probe, probe.at_cursor()]
    items = [
        item
        for each in windows
        if each is not None
        for fetch in _sources.values()
        for item in fetch(session, friend_id, each)
        if probe.holds(item)
    ]
    items.sort(key=lambda item: item.sort_key, reverse=window.after is None)
    more = len(items) > window.limit
    page = items[: window.limit]
    if window.after is None:
        page.reverse()
    return page, more


def cursor_of(key: tuple) -> str:
    at, source, ref = key
    return f"{at.isoformat()}|{source}|{ref}"


def parse_cursor(text: str | None) -> tuple | None:
    """A cursor's (time, source, id), or None when it is missing or malformed."""
    try:
        at, source, ref = (text or "").split("|")
        key = (datetime.fromisoformat(at), source, int(ref))
    except ValueError:
        return None
    return key if key[0].tzinfo is not None else None


def bounded(query, at_column, id_column, window: Window):
    """A source's query cut to the window: its time bounds, then the nearest `limit` rows (the oldest new ones
    when polling, else the newest)."""
    if window.at is not None:
        query = query.where(at_column == window.at)
    elif window.after is not None:
        query = query.where(at_column > window.after[0])
    elif window.before is not None:
        query = query.where(at_column < window.before[0])
    if window.after is not None:
        return query.order_by(at_column, id_column).limit(window.limit)
    return query.order_by(at_column.desc(), id_column.desc()).limit(window.limit)


def texts_of(messages_json: str | None) -> str | None:
    """The texts of stored LINE message objects, one per line; other messages by type (「[image]」)."""
    try:
        messages = json.loads(messages_json or "[]")
    except ValueError:
        return None
    parts = [
        message.get("text") or message.get("altText") or f"[{message.get('type')}]"
        for message in messages
        if isinstance(message, dict)
    ]
    preview = "\n".join(parts)
    return preview if len(preview) <= PREVIEW_MAX else preview[: PREVIEW_MAX - 1] + "…"
