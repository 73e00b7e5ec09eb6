"""The friend list's tag plans: tag checks kept as per-row lookups (PostgreSQL, chosen by the kept tag counts) and
left to the database's joins select the same friends, on a mixed data set (SQLite and PostgreSQL)."""

import math
import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session

from crm.db import get_engine
from crm.friends import query as friend_query
from crm.friends.models import FriendStatus
from crm.friends.pages import count_friends, friend_page, id_batches
from crm.friends.query import FriendFilter, plan
from tests.factories import make_friends, make_tags

NOW = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
SHARES = {"big": 0.8, "mid": 0.4, "small": 0.1, "unused": 0.0}


@pytest.fixture
def mixed(app):
    """60 friends holding tags at the shares above, some blocked, some never followed or never in touch."""
    rng = random.Random(18)
    tag_ids = dict(zip(SHARES, make_tags(app, *SHARES), strict=True))
    rows, holdings = [], []
    for index in range(60):
        held = {name for name, share in SHARES.items() if rng.random() < share}
        holdings.append(held)
        rows.append(
            {
                "display_name": f"friend {index}",
                "tags": [tag_ids[name] for name in held],
                "status": FriendStatus.BLOCKED if index % 7 == 0 else FriendStatus.FOLLOWING,
                "last_followed_at": None if index % 11 == 0 else NOW - timedelta(hours=rng.randint(1, 2000)),
                "last_interaction_at": None if index % 5 == 0 else NOW - timedelta(hours=rng.randint(1, 2000)),
            }
        )
    ids = make_friends(app, rows)
    return tag_ids, dict(zip(ids, holdings, strict=True)), dict(zip(ids, rows, strict=True))


FILTERS = {
    "all of small and big": ({"small", "big"}, set(), set()),
    "all of big and mid": ({"big", "mid"}, set(), set()),
    "all of big, mid and small": ({"big", "mid", "small"}, set(), set()),
    "any of small and mid": (set(), {"small", "mid"}, set()),
    "none of big and mid": (set(), set(), {"big", "mid"}),
    "all big, any of mid and small, none small": ({"big"}, {"mid", "small"}, {"small"}),
    "all of unused and big": ({"unused", "big"}, set(), set()),
}


def by_hand(holdings: dict, rows: dict, tags: tuple, status: str | None) -> set[int]:
    every, some, none = tags
    return {
        friend_id
        for friend_id, held in holdings.items()
        if every <= held
        and (not some or some & held)
        and not none & held
        and (status is None or rows[friend_id]["status"] == status)
    }


def selected(app, flt: FriendFilter, sort: str) -> set[int]:
    """The friends on one big page (a driven plan), in id batches of 2 (a walking plan) and counted."""
    with Session(get_engine(app)) as session:
        page = {f.id for f in friend_page(session, flt, now=NOW, sort=sort, size=500).friends}
        batches = {i for batch in id_batches(session, flt, now=NOW, size=2) for i in batch}
        assert count_friends(session, flt, now=NOW) == len(page)
    assert page == batches
    return page


@pytest.mark.parametrize("probe_cost", [0, math.inf], ids=["kept-lookups", "joins"])
@pytest.mark.parametrize("status", [None, FriendStatus.FOLLOWING])
@pytest.mark.parametrize("label", FILTERS)
def test_kept_lookups_and_joins_select_the_same_friends(app, mixed, monkeypatch, probe_cost, status, label):
    monkeypatch.setattr(friend_query, "PROBE_COST", probe_cost)
    tag_ids, holdings, rows = mixed
    every, some, none = FILTERS[label]
    flt = FriendFilter(
        tags_all=tuple(tag_ids[n] for n in sorted(every)),
        tags_any=tuple(tag_ids[n] for n in sorted(some)),
        tags_none=tuple(tag_ids[n] for n in sorted(none)),
        status=status,
    )
    expected = by_hand(holdings, rows, FILTERS[label], status)
    for sort in ("followed_desc", "interaction_asc"):
        assert selected(app, flt, sort) == expected


@pytest.mark.parametrize(
    "probe_cost, wanted, kept",
    [(0, 51, True), (math.inf, 51, False), (1, 1, True), (1, None, False)],
)
def test_the_kept_tag_counts_choose_lookups_only_when_few_rows_are_checked(
    app, mixed, monkeypatch, probe_cost, wanted, kept
):
    """On PostgreSQL a tag check kept per row carries OFFSET 0 (never pulled up into a join). "None of big"
    (held by ~48 of 60) with a lookup costing 1 entry: one row wanted walks ~5 friends (kept), all of them
    walks 60 (a join reads fewer entries)."""
    monkeypatch.setattr(friend_query, "PROBE_COST", probe_cost)
    tag_ids, _, _ = mixed
    flt = FriendFilter(tags_none=(tag_ids["big"],))
    with Session(get_engine(app)) as session:
        where = plan(session, flt, now=NOW, wanted=wanted).conditions
        sql = " ".join(str(c.compile(session.get_bind())) for c in where)
        postgresql = session.get_bind().dialect.name == "postgresql"
    assert ("OFFSET" in sql) == (kept and postgresql)
