"""Name search ignores spaces (half- and full-width) and finds the reading (ふりがな) staff store on the friend
page, hiragana, katakana or half-width kana alike; the reading is audited, masked from analysts and erased."""

import pytest
from sqlmodel import Session, select

from crm.db import get_engine, session_scope
from crm.friends import query as friend_query
from crm.friends.models import Friend
from crm.friends.query import FriendFilter
from crm.privacy import service as privacy
from crm.staff.audit import Actor
from crm.staff.models import AuditEntry
from tests.console_helpers import csrf_token, signed_in_client
from tests.factories import make_friends
from tests.friends.test_list import at, matching

NAMES = ["佐藤 健太", "佐藤\u3000花子", "鈴木一郎", "タナカ ユウコ", "高橋"]


@pytest.fixture
def people(app):
    ids = make_friends(app, [{"display_name": n, "last_followed_at": at(i)} for i, n in enumerate(NAMES)])
    return dict(zip(NAMES, ids, strict=True))


def _set_reading(client, friend_id, text):
    token = csrf_token(client, f"/friends/{friend_id}")
    return client.post(f"/friends/{friend_id}/reading", data={"reading": text, "csrf_token": token})


@pytest.mark.parametrize(
    "term, expected",
    [
        ("佐藤健太", ["佐藤 健太"]),
        ("佐藤花子", ["佐藤\u3000花子"]),
        ("藤健", ["佐藤 健太"]),  # two characters across the space
        ("鈴木 一郎", ["鈴木一郎"]),
        ("鈴木\u3000一郎", ["鈴木一郎"]),
        ("タナカユウコ", ["タナカ ユウコ"]),
        ("佐藤", ["佐藤 健太", "佐藤\u3000花子"]),
    ],
)
@pytest.mark.parametrize("index_cap", [friend_query.ESTIMATE_CAP, 0], ids=["index", "row-check"])
def test_spaces_are_ignored_in_names_and_terms(app, people, monkeypatch, term, expected, index_cap):
    monkeypatch.setattr(friend_query, "ESTIMATE_CAP", index_cap)
    assert matching(app, FriendFilter(search=term)) == {people[name] for name in expected}


@pytest.mark.parametrize("term", ["さとう", "サトウ", "ｻﾄｳ", "さとうけんた", "サトウ ケンタ", "さと", "た"])
@pytest.mark.parametrize("index_cap", [friend_query.ESTIMATE_CAP, 0], ids=["index", "row-check"])
def test_the_reading_is_found_in_any_kana(app, people, monkeypatch, term, index_cap):
    assert _set_reading(signed_in_client(app, "staff"), people["佐藤 健太"], "サトウ　ケンタ").status_code == 302
    monkeypatch.setattr(friend_query, "ESTIMATE_CAP", index_cap)
    found = matching(app, FriendFilter(search=term))
    assert people["佐藤 健太"] in found
    assert people["佐藤\u3000花子"] not in found  # no reading: 「さとう」 is not in her name


def test_the_reading_is_stored_in_hiragana_audited_and_changed_or_cleared(app, people):
    friend_id, client = people["高橋"], signed_in_client(app, "staff")
    assert _set_reading(client, friend_id, " ﾀｶﾊｼ ").status_code == 302
    with Session(get_engine(app)) as session:
        assert session.get(Friend, friend_id).reading == "たかはし"
        entry = session.exec(select(AuditEntry).where(AuditEntry.action == "friend.reading")).one()
        assert (entry.target_id, entry.after) == (str(friend_id), '{"reading": "たかはし"}')
    page = client.get(f"/friends/{friend_id}").get_data(as_text=True)
    assert "<span data-reading>たかはし</span>" in page and 'value="たかはし"' in page
    assert matching(app, FriendFilter(search="たかはし")) == {friend_id}
    _set_reading(client, friend_id, "")
    assert matching(app, FriendFilter(search="たかはし")) == set()
    assert _set_reading(client, friend_id, "あ" * 101).status_code == 400


def test_analysts_neither_see_nor_set_the_reading(app, people):
    _set_reading(signed_in_client(app, "staff"), people["高橋"], "たかはし")
    analyst = signed_in_client(app, "analyst")
    page = analyst.get(f"/friends/{people['高橋']}").get_data(as_text=True)
    assert "たかはし" not in page and 'name="reading"' not in page
    assert _set_reading(analyst, people["高橋"], "たかはし2").status_code == 403


def test_erasing_a_friend_erases_the_reading_from_the_search(app, people):
    friend_id = people["高橋"]
    _set_reading(signed_in_client(app, "staff"), friend_id, "たかはし")
    with session_scope(get_engine(app)) as session:
        privacy.erase_friend(session, friend_id=friend_id, actor=Actor.system("test"))
    with Session(get_engine(app)) as session:
        assert session.get(Friend, friend_id).reading is None
    assert matching(app, FriendFilter(search="たかはし")) == set()
