"""Which friends match a filter: one SQL condition set for the list, bulk actions, exports, segments and the API.

Matching happens in SQL only, on SQLite and PostgreSQL alike. SQLite's planner has no statistics on tags or
name search, so `conditions` picks the driving condition itself: the smallest candidate set (from the kept
tag counts and a capped search count) drives through `id IN (...)` when that reads fewer rows than walking
the sort index; every other condition is checked row by row (EXISTS, LIKE). PostgreSQL plans either form;
its own estimate sizes a name search.

Name search is "contains, ignoring case and spaces" over the name and the staff's reading (crm.friends.search_key)
through the index of migrations 0003 and 0035. PostgreSQL checks a name row by row (a walk, or another condition
drives) without its grams and, where it cannot matter, without folding katakana (`search_key.contains_sql`).
When SQLite checks names row by
row (common terms) it uses LIKE, which folds ASCII case only, while its index also folds other scripts'
case (Ä/ä); Japanese has no case.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, column, func, or_, select, table, union
from sqlalchemy.orm import aliased
from sqlmodel import Session

from crm.errors import N_, TranslatableError
from crm.friends import search_key as search_keys
from crm.friends.attention import CLEAR, STATES
from crm.friends.models import Friend, FriendStatus
from crm.sql import contains_pattern
from crm.tags.models import FriendTag, Tag

STATUSES = tuple(FriendStatus)
MAX_SEARCH_CHARS = 100
MAX_TAGS_PER_MODE = 20
MAX_DAYS = 36500
SEARCH_SEPARATOR = "\x1f"
ESTIMATE_CAP = 20_000
PROBE_COST = 16  # one per-row tag lookup costs about as much as reading 16 index entries in a join (PostgreSQL)
STATUS_SHARE_GUESS = 0.5
ATTENTION_SHARE_GUESS = 0.05  # few friends carry a mark at a time
ATTENTION_FILTERS = (*STATES, CLEAR)
FTS = table("friend_search", column("rowid"), column("name"), column("pairs"))


class FilterError(TranslatableError):
    """A filter that cannot be run; `code` names the problem for the console and the API."""

    def __init__(self, code: str, msgid: str, **params):
        super().__init__(msgid, **params)
        self.code = code


@dataclass(frozen=True)
class FriendFilter:
    """What the friend list, a bulk action or an export is limited to. Times are aware UTC datetimes."""

    search: str = ""
    tags_all: tuple[int, ...] = ()
    tags_any: tuple[int, ...] = ()
    tags_none: tuple[int, ...] = ()
    status: str | None = None
    followed_from: datetime | None = None
    followed_before: datetime | None = None
    interaction_from: datetime | None = None
    interaction_before: datetime | None = None
    interaction_within_days: int | None = None
    interaction_older_than_days: int | None = None
    attention: str | None = None  # "needed", "in_progress", "done", or "none" (no mark)

    def snapshot(self) -> dict:
        """The set fields, JSON-ready (for the audit log)."""
        return {
            key: (
                value.isoformat() if isinstance(value, datetime) else list(value) if isinstance(value, tuple) else value
            )
            for key, value in asdict(self).items()
            if value not in (None, "", ())
        }

    def tag_ids(self) -> set[int]:
        """Every tag the filter names."""
        return set(self.tags_all) | set(self.tags_any) | set(self.tags_none)


def check_filter(session: Session, flt: FriendFilter) -> None:
    """Refuse filters that cannot be meant: unknown tags, absurd values."""
    if len(flt.search) > MAX_SEARCH_CHARS:
        raise FilterError("search_too_long", N_("Search for at most 100 characters."))
    if flt.status is not None and flt.status not in STATUSES:
        raise FilterError("bad_status", N_("Choose a status from the list."))
    if flt.attention is not None and flt.attention not in ATTENTION_FILTERS:
        raise FilterError("bad_attention", N_("Choose an attention mark from the list."))
    if max(len(flt.tags_all), len(flt.tags_any), len(flt.tags_none)) > MAX_TAGS_PER_MODE:
        raise FilterError("too_many_tags", N_("Choose at most 20 tags for each tag condition."))
    for days in (flt.interaction_within_days, flt.interaction_older_than_days):
        if days is not None and not 0 <= days <= MAX_DAYS:
            raise FilterError("bad_days", N_("Enter a number of days between 0 and 36500."))
    wanted = flt.tag_ids()
    known = set(session.exec(select(Tag.id).where(Tag.id.in_(wanted))).scalars()) if wanted else set()
    if wanted - known:
        raise FilterError("unknown_tag", N_("A chosen tag no longer exists."), tag_ids=sorted(wanted - known))


@dataclass
class Plan:
    """The WHERE conditions of a filter, a rough count of friend rows a query reads, and whether a small
    candidate set drives it (then the caller should sort the candidates rather than walk a sort index)."""

    conditions: list = field(default_factory=list)
    rows_read: float = 0.0
    driven: bool = False


@dataclass
class _Candidate:
    """A condition that can list its friend ids from an index (`drive`, `size` ids) or be checked per row.

    `probe` leaves PostgreSQL free to turn a tag check into a join reading `entries` index entries; `kept`
    (when set) is the same check kept as a per-row lookup, for when few rows are checked (see `_checks`)."""

    share: float  # estimated share of all friends that pass
    size: float
    drive: object
    probe: list
    kept: list | None = None
    entries: float = math.inf


def plan(
    session: Session, flt: FriendFilter, *, now: datetime, wanted: int | None, order_by: str | None = None
) -> Plan:
    """Build the conditions for a query that needs `wanted` rows (None: all) walking the `order_by` time index."""
    total = max(session.exec(select(func.max(Friend.id))).scalar() or 0, 1)
    ranged = _time_ranges(flt, now)
    on_walk = ranged.pop(order_by, [])  # a range on the walked index is read as a range, not checked per row
    candidates = [
        *_tag_candidates(session, flt, total),
        *_search_candidates(session, flt, total),
        *(_range_candidate(session, where, total) for where in ranged.values() if where),
        *_checked_candidates(flt),
    ]
    share = math.prod(c.share for c in candidates)
    walk = total if wanted is None or share == 0 else min(total, wanted / share)
    driver = min((c for c in candidates if c.drive is not None), key=lambda c: c.size, default=None)
    if driver is not None and driver.size < walk:
        rest = [p for c in candidates if c is not driver for p in _checks(c, driver.size)]
        return Plan([driver.drive, *on_walk, *rest], driver.size, driven=True)
    return Plan([*on_walk, *(p for c in candidates for p in _checks(c, walk))], walk)


def _checks(candidate: _Candidate, rows: float) -> list:
    """The candidate's per-row checks for a query checking `rows` friends: kept as lookups when that costs
    less than the join PostgreSQL would choose instead (it reads every index entry of the tags)."""
    if candidate.kept is not None and rows * PROBE_COST < candidate.entries:
        return candidate.kept
    return candidate.probe


def conditions(
    session: Session, flt: FriendFilter, *, now: datetime, wanted: int | None = None, order_by: str | None = None
) -> list:
    """The WHERE conditions on Friend for a filter (see `plan`)."""
    return plan(session, flt, now=now, wanted=wanted, order_by=order_by).conditions


def _checked_candidates(flt: FriendFilter) -> list[_Candidate]:
    """The status and the attention mark, only ever checked row by row (their shares are not kept anywhere)."""
    found = [_Candidate(STATUS_SHARE_GUESS, math.inf, None, [Friend.status == flt.status])] if flt.status else []
    if flt.attention == CLEAR:
        found.append(_Candidate(STATUS_SHARE_GUESS, math.inf, None, [Friend.attention.is_(None)]))
    elif flt.attention:
        found.append(_Candidate(ATTENTION_SHARE_GUESS, math.inf, None, [Friend.attention == flt.attention]))
    return found


def _time_ranges(flt: FriendFilter, now: datetime) -> dict[str, list]:
    """The time conditions, by the column they limit."""
    followed, interaction = Friend.last_followed_at, Friend.last_interaction_at
    bounds = {
        "last_followed_at": [
            followed >= flt.followed_from if flt.followed_from else None,
            followed < flt.followed_before if flt.followed_before else None,
        ],
        "last_interaction_at": [
            interaction >= flt.interaction_from if flt.interaction_from else None,
            interaction < flt.interaction_before if flt.interaction_before else None,
        ],
    }
    if flt.interaction_within_days is not None:
        bounds["last_interaction_at"].append(interaction >= now - timedelta(days=flt.interaction_within_days))
    if flt.interaction_older_than_days is not None:
        bounds["last_interaction_at"].append(interaction < now - timedelta(days=flt.interaction_older_than_days))
    return {name: [c for c in where if c is not None] for name, where in bounds.items()}


def _remembered(session: Session, kind: str, query, measure):
    """An estimate, measured once per session (a request asks for the same ones for its page and its count)."""
    compiled = query.compile(session.get_bind())
    key = (kind, str(compiled), repr(sorted(compiled.params.items())))
    cache = session.info.setdefault("friend_query_estimates", {})
    if key not in cache:
        cache[key] = measure(compiled)
    return cache[key]


def capped_count(session: Session, query) -> int:
    """How many rows the query returns, counting at most ESTIMATE_CAP."""
    capped = select(func.count()).select_from(query.limit(ESTIMATE_CAP).subquery())
    return _remembered(session, "count", capped, lambda _: session.exec(capped).scalar())


def _range_candidate(session: Session, where: list, total: int) -> _Candidate:
    """A time range on the other sort index: its capped size decides whether it drives."""
    inside = select(Friend.id).where(*where)
    size = capped_count(session, inside)
    return _Candidate(min(1.0, size / total), size, Friend.id.in_(inside) if size < ESTIMATE_CAP else None, where)


def _tag_candidates(session: Session, flt: FriendFilter, total: int) -> list[_Candidate]:
    """ "Has all" and "has any" as one candidate driving from the rarest tag (intersecting inside friend_tag);
    "has none" as a per-row check. Shares come from the kept tag counts, which also decide (PostgreSQL)
    whether the other tags are looked up per driving row or joined (`PROBE_COST`)."""
    ids = flt.tag_ids()
    rows = session.exec(select(Tag.id, Tag.friend_count).where(Tag.id.in_(ids))).all() if ids else []
    counts = {tag_id: min(max(0, count), total) for tag_id, count in rows}  # kept counts are estimates here
    sizes = [(counts.get(t, 0), [t]) for t in flt.tags_all]
    if flt.tags_any:
        sizes.append((min(total, sum(counts.get(t, 0) for t in flt.tags_any)), list(flt.tags_any)))
    keep = session.get_bind().dialect.name == "postgresql"
    found = []
    if sizes:
        size, first = min(sizes, key=lambda pair: pair[0])
        link = aliased(FriendTag)
        others = [(n, tags) for n, tags in sizes if tags is not first]
        drive = select(link.friend_id).where(
            link.tag_id.in_(first),
            *(tagged(link.friend_id, tags, kept=keep and size * PROBE_COST < n) for n, tags in others),
        )
        found.append(
            _Candidate(
                math.prod(n / total for n, _ in sizes),
                size,
                Friend.id.in_(drive),
                [tagged(Friend.id, tags) for _, tags in sizes],
                [tagged(Friend.id, tags, kept=True) for _, tags in sizes] if keep else None,
                min(n for n, _ in sizes),
            )
        )
    if flt.tags_none:
        found.append(
            _Candidate(
                math.prod(1 - counts.get(t, 0) / total for t in flt.tags_none),
                math.inf,
                None,
                [~tagged(Friend.id, list(flt.tags_none))],
                [~tagged(Friend.id, list(flt.tags_none), kept=True)] if keep else None,
                sum(counts.get(t, 0) for t in flt.tags_none),
            )
        )
    return found


def tagged(friend_id, tag_ids: list[int], *, kept: bool = False):
    """EXISTS: the friend has one of these tags. `kept`: PostgreSQL looks it up for each row rather than
    turning it into a join (a subquery with OFFSET is never pulled up); only for PostgreSQL queries."""
    link = aliased(FriendTag)  # selecting the key (not *) lets SQLite answer from the primary-key index alone
    found = select(link.friend_id).where(link.friend_id == friend_id, link.tag_id.in_(tag_ids))
    return (found.offset(0) if kept else found).exists()


def _search_candidates(session: Session, flt: FriendFilter, total: int) -> list[_Candidate]:
    """Name and reading search (spaces ignored, crm.friends.search_key): PostgreSQL's gram index with a strpos
    recheck; SQLite's FTS5 index or LIKE per row. Any of the term's forms matches."""
    dialect = session.get_bind().dialect.name
    terms = search_keys.search_terms(flt.search, dialect)
    if not terms:
        return []
    if dialect == "postgresql":
        key = func.friend_search_key(Friend.display_name, Friend.reading)
        grams = or_(*(func.friend_search_grams(key).op("@>")(func.friend_search_terms(term)) for term in terms))
        recheck = or_(*(search_keys.contains_sql(Friend.display_name, Friend.reading, term) for term in terms))
        size = _planner_estimate(session, select(Friend.id).where(grams))
        # checked row by row (a walk, or another condition drives) the grams are left out: computing a name's
        # grams costs far more than the check itself, and without them PostgreSQL cannot turn a walk into a scan
        # of the gram index and a sort of every candidate
        drive = and_(grams, recheck) if size < ESTIMATE_CAP else None
        return [_Candidate(min(1.0, size / total), size, drive, [recheck])]
    matched = union(*(select(FTS.c.rowid).where(fts_match(term)) for term in terms))
    size = capped_count(session, matched)
    drive = Friend.id.in_(matched) if size < ESTIMATE_CAP else None  # too many: walk instead
    key = search_keys.key_sql(Friend.display_name, Friend.reading)
    like = or_(*(key.like(contains_pattern(term), escape="\\") for term in terms))
    return [_Candidate(min(1.0, size / total), size, drive, [like])]


def _planner_estimate(session: Session, query) -> float:
    """PostgreSQL's estimate of a query's rows (it plans, nothing runs), from its statistics on the gram index."""

    def explain(compiled) -> float:
        sql = f"EXPLAIN (FORMAT JSON) {compiled}"
        return float(session.connection().exec_driver_sql(sql, compiled.params).scalar()[0]["Plan"]["Plan Rows"])

    return _remembered(session, "plan", query, explain)


def fts_match(term: str):
    """The SQLite index lookup: the name's trigrams for 3+ characters, else the separated characters."""
    if len(term) >= 3:
        return FTS.c.name.match(_phrase(term))
    return FTS.c.pairs.match(
        _phrase(f"{SEARCH_SEPARATOR}{term}{SEARCH_SEPARATOR}" if len(term) == 1 else SEARCH_SEPARATOR.join(term))
    )


def _phrase(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'
