"""Name search plans: the gram index (or SQLite's FTS) driving and a walk checking names row by row select the same
friends on a mixed set of names and readings (SQLite and PostgreSQL); PostgreSQL's row check, which skips the
katakana fold where it cannot matter, agrees with the plain check on the index's own key."""

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from crm.db import get_engine
from crm.friends import query as friend_query
from crm.friends import search_key
from crm.friends.models import Friend, FriendStatus
from crm.friends.query import FriendFilter
from tests.factories import make_friends, make_tags
from tests.friends.test_list import at
from tests.friends.test_tag_plans import selected

NAMES = [
    ("佐藤 健太", "さとうけんた"),
    ("佐藤\u3000花子", None),
    ("サトウ ハナコ", None),
    ("さとう はなこ", None),
    ("Hanako SATO", None),
    ("hanako", "はなこ"),
    ("ハナコ🌸", None),
    ("ヴァイオリン教室ー", None),
    ("ヶ丘", None),
    ("タナカ", "たなか"),
    ("鈴木一郎", None),
    (None, None),
]
TERMS = [
    "佐藤",
    "ハナコ",
    "はなこ",
    "hanako",
    "HANAKO",
    "sato",
    "さと",
    "ー",
    "ヴァ",
    "ゔぁ",
    "ヶ",
    "ゖ",
    "か",
    "藤花",
    "xyz",
]


@pytest.fixture
def names(app):
    tag = make_tags(app, "half")[0]
    rows = [
        {
            "display_name": name,
            "reading": reading,
            "last_followed_at": None if index % 5 == 4 else at(index),
            "status": FriendStatus.BLOCKED if index % 3 == 2 else FriendStatus.FOLLOWING,
            "tags": [tag] if index % 2 else [],
        }
        for index, (name, reading) in enumerate(NAMES)
    ]
    return tag, make_friends(app, rows)


def _filters(tag: int, term: str) -> dict[str, FriendFilter]:
    return {
        "alone": FriendFilter(search=term),
        "with status and tag": FriendFilter(search=term, status=FriendStatus.FOLLOWING, tags_all=(tag,)),
    }


def _found(app, tag: int, term: str) -> dict:
    return {
        (label, sort): selected(app, flt, sort)
        for label, flt in _filters(tag, term).items()
        for sort in ("followed_desc", "interaction_asc")
    }


@pytest.mark.parametrize("term", TERMS)
def test_the_index_and_the_walk_find_the_same_names(app, names, monkeypatch, term):
    tag, _ = names
    monkeypatch.setattr(friend_query, "_planner_estimate", lambda _session, _query: 0)  # few: the index drives
    driven = _found(app, tag, term)
    monkeypatch.setattr(friend_query, "ESTIMATE_CAP", 0)  # too many to drive: walk, checking names row by row
    walked = _found(app, tag, term)
    assert driven == walked
    if term in ("佐藤", "hanako", "さと", "ー"):
        assert driven["alone", "followed_desc"]


def test_postgresql_row_check_agrees_with_the_index_key(app, names):
    """contains_sql against strpos on friend_search_key (the key the gram index holds), every name and term."""
    with Session(get_engine(app)) as session:
        if session.get_bind().dialect.name != "postgresql":
            pytest.skip("the row check of PostgreSQL's search key")
        key = func.lower(func.friend_search_key(Friend.display_name, Friend.reading))
        for typed in TERMS:
            for term in search_key.search_terms(typed, "postgresql"):
                plain = set(session.exec(select(Friend.id).where(func.strpos(key, func.lower(term)) > 0)).scalars())
                check = search_key.contains_sql(Friend.display_name, Friend.reading, term)
                assert set(session.exec(select(Friend.id).where(check)).scalars()) == plain, term
                if typed in ("ハナコ", "ヴァ", "ヶ"):
                    assert plain, term  # found in a katakana name through the fold
