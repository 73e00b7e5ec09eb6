"""Reading filtered friends: keyset pages in a sort order, id batches for bulk actions and exports, counts.

Pages never use OFFSET: a cursor is the (sort time, id) of the row to continue from. Friends without a sort
time (never followed) count as the oldest: they come last when newest is first. Each page reads the friends
with a time, then the ones without, as two index-ordered queries, so both databases use the sort indexes.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, literal, select, tuple_
from sqlmodel import Session

from crm.errors import N_
from crm.friends.models import Friend
from crm.friends.query import FilterError, FriendFilter, Plan, conditions, plan
from crm.tags.models import FriendTag, Tag
from crm.timeutil import UTCDateTime

SORTS = {
    "followed_desc": ("last_followed_at", True),
    "followed_asc": ("last_followed_at", False),
    "interaction_desc": ("last_interaction_at", True),
    "interaction_asc": ("last_interaction_at", False),
}
DEFAULT_SORT = "followed_desc"
PAGE_SIZE = 50
BATCH_SIZE = 1000
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
CURSOR_RE = re.compile(r"(?P<micros>n|-?[0-9]{1,18})_(?P<id>[0-9]{1,10})")  # ASCII digits only
MAX_FRIEND_ID = 2**31 - 1  # friend.id is a 32-bit integer on PostgreSQL


@dataclass(frozen=True)
class Cursor:
    """Where a page continues: the sort time (None for friends without one) and the id of a row."""

    value: datetime | None
    friend_id: int

    def encode(self) -> str:
        """A short URL-safe form: microseconds since 1970 (or "n") and the id."""
        micros = "n" if self.value is None else str((self.value - EPOCH) // _MICROSECOND)
        return f"{micros}_{self.friend_id}"

    @classmethod
    def decode(cls, text: str) -> Cursor:
        """Parse `encode`'s output; raise FilterError("bad_cursor") otherwise (an id beyond the id column, a
        time beyond the calendar, anything else)."""
        found = CURSOR_RE.fullmatch(text or "")
        try:
            if found is None or int(found["id"]) > MAX_FRIEND_ID:
                raise ValueError(text)
            value = None if found["micros"] == "n" else EPOCH + int(found["micros"]) * _MICROSECOND
            return cls(value, int(found["id"]))
        except (ValueError, OverflowError):
            raise FilterError("bad_cursor", N_("The page link is damaged; showing the first page.")) from None


_MICROSECOND = datetime.resolution


@dataclass
class FriendPage:
    """One page of friends, with cursors to the next and previous pages (None at either end)."""

    friends: list[Friend]
    next_cursor: str | None
    prev_cursor: str | None


def friend_page(
    session: Session,
    flt: FriendFilter,
    *,
    now: datetime,
    sort: str = DEFAULT_SORT,
    after: Cursor | None = None,
    before: Cursor | None = None,
    size: int = PAGE_SIZE,
) -> FriendPage:
    """Return the page after `after` (or before `before`, or the first page) in the sort order."""
    if sort not in SORTS:
        raise FilterError("bad_sort", N_("Choose a sort order from the list."))
    name, descending = SORTS[sort]
    where = plan(session, flt, now=now, wanted=size + 1, order_by=name)
    if before is not None:
        rows = _rows(session, where, name, not descending, before, size + 1)
        more, rows = len(rows) > size, rows[:size][::-1]
        return FriendPage(
            rows, _cursor(rows[-1], name) if rows else None, _cursor(rows[0], name) if more and rows else None
        )
    rows = _rows(session, where, name, descending, after, size + 1)
    more, rows = len(rows) > size, rows[:size]
    return FriendPage(
        rows, _cursor(rows[-1], name) if more else None, _cursor(rows[0], name) if after is not None and rows else None
    )


def _cursor(friend: Friend, name: str) -> str:
    return Cursor(getattr(friend, name), friend.id).encode()


def _rows(session: Session, where: Plan, name: str, descending: bool, after: Cursor | None, limit: int) -> list[Friend]:
    """Up to `limit` friends after the cursor: those with a sort time, and those without, in order."""
    rows: list[Friend] = []
    for part in _parts(name, descending, after, where.driven):
        # find the page's ids first, then read only their rows: the walk and its checks need only the covering
        # sort index (index-only on PostgreSQL), not every walked friend's full row
        found = select(Friend.id).where(*where.conditions, *part[0]).order_by(*part[1]).limit(limit - len(rows))
        page = found.subquery()
        query = select(Friend).join(page, page.c.id == Friend.id).order_by(*part[1])
        rows.extend(session.exec(query).scalars())
        if len(rows) >= limit:
            break
    return rows


def _parts(name: str, descending: bool, after: Cursor | None, driven: bool = False) -> list[tuple[list, list]]:
    """(conditions, order) of the rows with a time and of those without, in reading order after the cursor.

    When a small candidate set drives the query, the time is sorted as coalesce(time, time): the same order,
    but no index provides it, so PostgreSQL sorts the candidates instead of walking the whole sort index.
    """
    column = getattr(Friend, name)
    order = (lambda c: c.desc()) if descending else (lambda c: c.asc())
    sort_key = func.coalesce(column, column) if driven else column
    timed = ([column.is_not(None)], [order(sort_key), order(Friend.id)])
    untimed = ([column.is_(None)], [order(Friend.id)])
    if after is None:
        return [timed, untimed] if descending else [untimed, timed]
    if after.value is None:
        bound = Friend.id < after.friend_id if descending else Friend.id > after.friend_id
        return [([*untimed[0], bound], untimed[1])] + ([] if descending else [timed])
    key, at = tuple_(column, Friend.id), tuple_(literal(after.value, UTCDateTime()), literal(after.friend_id))
    return [([*timed[0], key < at if descending else key > at], timed[1])] + ([untimed] if descending else [])


def id_batches(session: Session, flt: FriendFilter, *, now: datetime, size: int | None = None):
    """Yield the matching friend ids in id order, `size` (default BATCH_SIZE) at a time, by keyset."""
    yield from friend_batches(session, flt, now=now, size=size, columns=(Friend.id,))


def friend_batches(session: Session, flt: FriendFilter, *, now: datetime, size: int | None = None, columns=None):
    """Yield the matching friends (or the given columns) in id order, `size` at a time (bounded memory)."""
    size = size or BATCH_SIZE
    where = conditions(session, flt, now=now, wanted=size)
    last = 0
    while True:
        query = select(*(columns or (Friend,))).where(*where, Friend.id > last).order_by(Friend.id).limit(size)
        batch = list(session.exec(query).scalars())
        if not batch:
            return
        yield batch
        last = batch[-1] if columns else batch[-1].id


def count_friends(session: Session, flt: FriendFilter, *, now: datetime, cap: int | None = None) -> int:
    """How many friends match, counting at most cap + 1 (so "cap+" can be shown)."""
    query = select(Friend.id).where(*conditions(session, flt, now=now, wanted=cap))
    if cap is not None:
        query = query.limit(cap + 1)
    return session.exec(select(func.count()).select_from(query.subquery())).scalar()


def count_cost(session: Session, flt: FriendFilter, *, now: datetime, cap: int) -> float:
    """Rough number of friend rows a capped count reads (to skip counting when it would be slow)."""
    return plan(session, flt, now=now, wanted=cap).rows_read


def tags_of(session: Session, friend_ids: list[int]) -> dict[int, list]:
    """The tags (rows with id, name, color) of each given friend, by tag name."""
    found: dict[int, list] = defaultdict(list)
    if friend_ids:
        query = (
            select(FriendTag.friend_id, Tag.id, Tag.name, Tag.color)
            .join(Tag, Tag.id == FriendTag.tag_id)
            .where(FriendTag.friend_id.in_(friend_ids))
            .order_by(Tag.name)
        )
        for row in session.connection().execute(query).all():  # Core rows: no ORM loading cost
            found[row.friend_id].append(row)
    return found
