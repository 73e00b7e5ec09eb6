"""RFM scores and deciles against a hand-computed table, and the segment conditions on conversions and RFM."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlmodel import select

from crm.conversions import rfm
from crm.conversions.jobs import rfm_tick
from crm.conversions.models import RfmScore
from crm.db import get_engine, session_scope
from crm.segments import service as segments
from crm.segments.tree import SegmentError, validate
from tests.conversions.helpers import convert, make_point
from tests.factories import make_friend

NOW = datetime(2026, 12, 31, 3, 0, tzinfo=UTC)


def day(month: int, date: int) -> datetime:
    return datetime(2026, month, date, 3, 0, tzinfo=UTC)


# Five buyers and one friend with a count-only conversion (not a purchase: no score).
#
#  friend  purchases (yen)                   last   F  M      | R  F  M  decile
#  A       12-30 1000, 12-01 2000            12-30  2  3000   | 5  3  4  2
#  B       12-29 500                         12-29  1  500    | 4  1  2  4
#  C       11-01, 10-01, 09-01 10000 each    11-01  3  30000  | 2  5  5  1
#  D       12-15 100                         12-15  1  100    | 3  1  1  5
#  E       06-01 800, 05-01 800              06-01  2  1600   | 1  3  3  3
#
# Scores are quintiles of PERCENT_RANK = (rank - 1) / (n - 1) with n = 5, ascending (later, more, higher = 5):
#  recency order E, C, D, B, A → 0, .25, .5, .75, 1 → scores 1, 2, 3, 4, 5 (cut at .2 .4 .6 .8);
#  frequency: B and D tie at rank 1 (0 → 1), A and E tie at rank 3 (.5 → 3), C rank 5 (1 → 5);
#  monetary D 100, B 500, E 1600, A 3000, C 30000 → 1, 2, 3, 4, 5.
# Deciles: NTILE(10) over five buyers, highest total first → C 1, A 2, E 3, B 4, D 5.
# Value 35,200 yen: C 85.2 % (class A, cumulative 85.2), A 8.5 % (starts at 85.2 < 90: class B, cum. 93.8),
# E 4.5 % (starts at 93.8: class C), B 1.4 % (C), D 0.3 % (C).
EXPECTED = {"A": (5, 3, 4, 2), "B": (4, 1, 2, 4), "C": (2, 5, 5, 1), "D": (3, 1, 1, 5), "E": (1, 3, 3, 3)}


@pytest.fixture
def shop(app):
    buy, sign_up = make_point(app, "購入"), make_point(app, "会員登録", value_type="none", counting="first")
    friends = {name: make_friend(app, n=n) for n, name in enumerate("ABCDEF", start=1)}
    purchases = {
        "A": [(day(12, 30), 1000), (day(12, 1), 2000)],
        "B": [(day(12, 29), 500)],
        "C": [(day(11, 1), 10000), (day(10, 1), 10000), (day(9, 1), 10000)],
        "D": [(day(12, 15), 100)],
        "E": [(day(6, 1), 800), (day(5, 1), 800)],
    }
    for name, rows in purchases.items():
        for n, (at, value) in enumerate(rows):
            convert(app, buy, friends[name], value=value, order_id=f"{name}-{n}", at=at)
    convert(app, sign_up, friends["F"], at=day(12, 20))
    return {"friends": friends, "buy": buy, "sign_up": sign_up}


def test_rfm_scores_and_deciles_match_the_hand_computed_table(app, shop):
    assert rfm_tick(get_engine(app), now=NOW) == 5
    by_id = {friend_id: name for name, friend_id in shop["friends"].items()}
    with session_scope(get_engine(app)) as session:
        scores = {
            by_id[row.friend_id]: (row.recency_score, row.frequency_score, row.monetary_score, row.decile)
            for row in session.scalars(select(RfmScore))
        }
        table = rfm.deciles(session)
        cells = rfm.grid(session)
    assert scores == EXPECTED
    assert [(row.decile, row.value, round(row.cumulative * 100, 1), row.rank_class) for row in table] == [
        (1, 30000, 85.2, "A"),
        (2, 3000, 93.8, "B"),
        (3, 1600, 98.3, "C"),
        (4, 500, 99.7, "C"),
        (5, 100, 100.0, "C"),
    ]
    assert cells[(5, 3)].friends == 1 and cells[(5, 3)].value == 3000
    assert rfm_tick(get_engine(app), now=NOW) is None  # nothing recorded since: not recomputed


def _members(app, tree: dict, friends: dict) -> set[str]:
    by_id = {friend_id: name for name, friend_id in friends.items()}
    with session_scope(get_engine(app)) as session:
        checked = validate(session, tree)
        return {by_id[i] for i in session.scalars(segments.friend_ids(session, checked, now=NOW))}


def test_segment_conditions_on_conversions_and_rfm(app, shop):
    rfm_tick(get_engine(app), now=NOW)
    friends = shop["friends"]
    assert _members(app, {"type": "converted", "point_id": shop["buy"], "days": 30}, friends) == {"A", "B", "D"}
    assert _members(app, {"type": "converted", "point_id": shop["sign_up"], "days": 0}, friends) == {"F"}
    assert _members(app, {"type": "conversion_value", "min": 3000}, friends) == {"A", "C"}
    assert _members(app, {"type": "rfm", "r": [4, 5]}, friends) == {"A", "B"}
    assert _members(app, {"type": "rfm", "r": [2, 5], "f": [3, 5]}, friends) == {"A", "C"}
    assert _members(app, {"type": "decile", "value": 1}, friends) == {"C"}
    combined = {"type": "all", "conditions": [{"type": "tag", "tag_id": 1}]}
    with pytest.raises(SegmentError):  # the registry leaves the other conditions as they were
        _members(app, combined, friends)
    nobody = {"type": "not", "condition": {"type": "conversion_value", "min": 1}}
    assert _members(app, nobody, friends) == {"F"}


@pytest.mark.parametrize(
    "tree",
    [
        {"type": "converted", "point_id": 999, "days": 1},
        {"type": "converted", "point_id": 1, "days": -1},
        {"type": "rfm", "r": [5, 4]},
        {"type": "rfm"},
        {"type": "decile", "value": 11},
        {"type": "conversion_value", "min": "many"},
    ],
)
def test_bad_conditions_are_refused(app, tree):
    make_point(app)
    with session_scope(get_engine(app)) as session, pytest.raises(SegmentError):
        validate(session, tree)
