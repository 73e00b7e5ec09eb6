"""The friend list: search, filters and their combinations, sort orders, keyset pages, bad input, masking,
permissions and escaping (SQLite and PostgreSQL, through the service and through the console)."""

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlmodel import Session, select

from crm.db import get_engine, session_scope
from crm.friends import query as friend_query
from crm.friends.models import Friend, FriendStatus
from crm.friends.pages import Cursor, count_friends, friend_page, id_batches
from crm.friends.query import FilterError, FriendFilter, check_filter
from crm.staff.audit import Actor
from crm.tags.models import FriendTag, Tag
from tests.console_helpers import signed_in_client
from tests.factories import make_friends, make_tags

NOW = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
SYSTEM = Actor.system("test")
XSS = "<script>alert(1)</script>"
ROW = re.compile(r'<tr data-friend="(\d+)"')
NAMES = ["佐藤 花子", "佐藤太郎", "鈴木 花子", "はなこ", "Hanako", "hanako🌸", "100%_off", "a\\b", 'say "hi"', None]


def at(days_ago: float) -> datetime:
    return NOW - timedelta(days=days_ago)


def matching(app, flt: FriendFilter, **kwargs) -> set[int]:
    """Ids on one big page (the walking plan) and by counting batches (the driving plan) must agree."""
    with Session(get_engine(app)) as session:
        page = {f.id for f in friend_page(session, flt, now=NOW, size=500, **kwargs).friends}
        batches = {i for batch in id_batches(session, flt, now=NOW, size=2) for i in batch}
        assert count_friends(session, flt, now=NOW) == len(page)
    assert page == batches
    return page


@pytest.fixture
def named(app):
    """One friend per name in NAMES (the last has no name yet)."""
    return dict(
        zip(
            NAMES,
            make_friends(app, [{"display_name": n, "last_followed_at": at(i)} for i, n in enumerate(NAMES)]),
            strict=False,
        )
    )


@pytest.mark.parametrize(
    "term, expected",
    [
        ("佐藤", ["佐藤 花子", "佐藤太郎"]),
        ("花子", ["佐藤 花子", "鈴木 花子"]),
        ("藤", ["佐藤 花子", "佐藤太郎"]),
        ("藤 花", ["佐藤 花子"]),
        ("hanako", ["Hanako", "hanako🌸"]),
        ("HANA", ["Hanako", "hanako🌸"]),
        ("🌸", ["hanako🌸"]),
        ("%", ["100%_off"]),
        ("_", ["100%_off"]),
        ("\\", ["a\\b"]),
        ('"hi"', ['say "hi"']),
        ("はなこ", ["はなこ"]),
        ("nobody", []),
        ("  佐藤太郎  ", ["佐藤太郎"]),
    ],
)
@pytest.mark.parametrize("index_cap", [friend_query.ESTIMATE_CAP, 0], ids=["index", "row-check"])
def test_search_by_display_name(app, named, monkeypatch, term, expected, index_cap):
    monkeypatch.setattr(friend_query, "ESTIMATE_CAP", index_cap)  # 0: SQLite checks names row by row
    assert matching(app, FriendFilter(search=term)) == {named[name] for name in expected}


def test_search_follows_renames_and_deletions(app, named):
    with session_scope(get_engine(app)) as session:
        session.get(Friend, named["佐藤太郎"]).display_name = "田中一郎"
        session.get(Friend, named[None]).display_name = "佐藤 次郎"
        session.delete(session.get(Friend, named["佐藤 花子"]))
    assert matching(app, FriendFilter(search="佐藤")) == {named[None]}
    assert matching(app, FriendFilter(search="田中")) == {named["佐藤太郎"]}


@pytest.fixture
def tagged(app):
    """Friends a..e with tags x, y, z as in the table below, plus statuses and times."""
    x, y, z = make_tags(app, "x", "y", "z", color="#0969da")
    ids = make_friends(
        app,
        [
            {"display_name": "a", "tags": [x, y, z], "last_followed_at": at(1), "last_interaction_at": at(0.5)},
            {"display_name": "b", "tags": [x, y], "last_followed_at": at(10), "last_interaction_at": at(10)},
            {
                "display_name": "c",
                "tags": [x],
                "last_followed_at": at(40),
                "last_interaction_at": at(2),
                "status": FriendStatus.BLOCKED,
            },
            {"display_name": "d", "tags": [z], "last_followed_at": at(100), "last_interaction_at": at(90)},
            {"display_name": "e", "tags": [], "last_followed_at": None, "last_interaction_at": at(400)},
        ],
    )
    return {"tags": (x, y, z), **dict(zip("abcde", ids, strict=False))}


def names(tagged, ids) -> str:
    return "".join(sorted(key for key in "abcde" if tagged[key] in ids))


@pytest.mark.parametrize(
    "make_filter, expected",
    [
        (lambda x, y, z: FriendFilter(tags_all=(x,)), "abc"),
        (lambda x, y, z: FriendFilter(tags_all=(x, y)), "ab"),
        (lambda x, y, z: FriendFilter(tags_all=(x, y, z)), "a"),
        (lambda x, y, z: FriendFilter(tags_any=(y, z)), "abd"),
        (lambda x, y, z: FriendFilter(tags_none=(x,)), "de"),
        (lambda x, y, z: FriendFilter(tags_none=(y, z)), "ce"),
        (lambda x, y, z: FriendFilter(tags_all=(x,), tags_any=(y, z), tags_none=(z,)), "b"),
        (lambda x, y, z: FriendFilter(tags_any=(x, z), status=FriendStatus.FOLLOWING), "abd"),
        (lambda x, y, z: FriendFilter(status=FriendStatus.BLOCKED), "c"),
        (lambda x, y, z: FriendFilter(followed_from=at(45), followed_before=at(5)), "bc"),
        (lambda x, y, z: FriendFilter(interaction_within_days=5), "ac"),
        (lambda x, y, z: FriendFilter(interaction_older_than_days=5), "bde"),
        (lambda x, y, z: FriendFilter(interaction_from=at(100), interaction_before=at(5)), "bd"),
        (lambda x, y, z: FriendFilter(interaction_older_than_days=5, tags_none=(z,), search="b"), "b"),
        (lambda x, y, z: FriendFilter(tags_all=(x,), interaction_within_days=5, status=FriendStatus.BLOCKED), "c"),
    ],
)
@pytest.mark.parametrize("sort", ["followed_desc", "interaction_asc"])
def test_filters_and_combinations(app, tagged, make_filter, expected, sort):
    assert names(tagged, matching(app, make_filter(*tagged["tags"]), sort=sort)) == expected


@pytest.mark.parametrize(
    "sort, expected",
    [
        ("followed_desc", "abcde"),
        ("followed_asc", "edcba"),
        ("interaction_desc", "acbde"),
        ("interaction_asc", "edbca"),
    ],
)
def test_sort_orders(app, tagged, sort, expected):
    with Session(get_engine(app)) as session:
        friends = friend_page(session, FriendFilter(), now=NOW, sort=sort).friends
    assert "".join(f.display_name for f in friends) == expected


@pytest.mark.parametrize("sort", ["followed_desc", "followed_asc", "interaction_desc", "interaction_asc"])
def test_keyset_pages_have_no_duplicates_or_gaps_forward_and_back(app, sort):
    same = at(3)  # ties on the sort time are ordered by id; friends without a time count as the oldest
    make_friends(
        app,
        [
            {
                "display_name": f"f{i}",
                "last_followed_at": None if i % 5 == 0 else same if i % 3 else at(i),
                "last_interaction_at": None if i % 4 == 0 else at(i % 7),
            }
            for i in range(23)
        ],
    )
    with Session(get_engine(app)) as session:
        everyone = [f.id for f in friend_page(session, FriendFilter(), now=NOW, sort=sort, size=100).friends]
        pages, page = [], friend_page(session, FriendFilter(), now=NOW, sort=sort, size=4)
        pages.append([f.id for f in page.friends])
        while page.next_cursor:
            page = friend_page(
                session, FriendFilter(), now=NOW, sort=sort, size=4, after=Cursor.decode(page.next_cursor)
            )
            pages.append([f.id for f in page.friends])
        back = [pages[-1]]
        while page.prev_cursor:
            page = friend_page(
                session, FriendFilter(), now=NOW, sort=sort, size=4, before=Cursor.decode(page.prev_cursor)
            )
            back.insert(0, [f.id for f in page.friends])
    assert len(everyone) == 23
    assert [i for p in pages for i in p] == everyone
    assert back == pages
    assert [len(p) for p in pages] == [4, 4, 4, 4, 4, 3]


def test_list_pages_through_the_console_keep_the_filters(app):
    make_friends(
        app,
        [{"display_name": f"佐藤 {i}", "last_followed_at": at(i)} for i in range(120)]
        + [{"display_name": "鈴木", "last_followed_at": at(0)}],
    )
    client = signed_in_client(app, "staff")
    url, seen = "/friends?q=佐藤&sort=followed_asc", []
    while url:
        html = client.get(url).get_data(as_text=True)
        seen += ROW.findall(html)
        match = re.search(r'rel="next" href="([^"]+)"', html)
        url = match.group(1).replace("&amp;", "&") if match else None
        if url:
            assert parse_qs(urlsplit(url).query)["q"] == ["佐藤"]
    assert len(seen) == len(set(seen)) == 120


@pytest.mark.parametrize(
    "query, message",
    [
        ("followed_from=2025-13-45", "date"),
        ("tag_all=999999", "valid choice"),
        ("tag_any=abc", "coerce"),
        ("days=999999999999999999999&interaction=within", "between"),
        ("interaction=older", "number of days"),
        ("followed_from=2026-02-01&followed_to=2026-01-01", "before the start date"),
        ("followed_from=0001-01-01", "between 2000-01-01"),
        ("sort=bogus", "valid choice"),
        ("status=deleted", "valid choice"),
        ("q=" + "x" * 101, "100"),
    ],
)
def test_bad_filters_get_a_clear_message_not_an_error(app, query, message):
    client = signed_in_client(app, "staff", locale="en")
    response = client.get("/friends?" + query)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)


def test_a_damaged_page_link_shows_the_first_page(app, tagged):
    client = signed_in_client(app, "staff", locale="en")
    html = client.get("/friends?after=garbage_x").get_data(as_text=True)
    assert "The page link is damaged" in html
    assert len(ROW.findall(html)) == 5


def test_service_refuses_unknown_tags_and_absurd_values(app, tagged):
    with Session(get_engine(app)) as session:
        for flt, code in [
            (FriendFilter(tags_none=(987654,)), "unknown_tag"),
            (FriendFilter(interaction_within_days=-1), "bad_days"),
            (FriendFilter(status="gone"), "bad_status"),
        ]:
            with pytest.raises(FilterError) as error:
                check_filter(session, flt)
            assert error.value.code == code
        with pytest.raises(FilterError):
            Cursor.decode("12_x")


def test_list_shows_columns_with_tags_and_tokyo_times(app, tagged):
    with session_scope(get_engine(app)) as session:
        session.get(Friend, tagged["a"]).last_followed_at = datetime(2026, 1, 1, 15, 30, tzinfo=UTC)
        session.get(Friend, tagged["a"]).picture_url = "https://profile.line-scdn.net/0habc"
    html = signed_in_client(app, "staff").get("/friends").get_data(as_text=True)
    row = html[html.index(f'data-friend="{tagged["a"]}"') :].split("</tr>")[0]
    assert "2026/01/02 00:30" in row  # 15:30 UTC is 00:30 the next day in Tokyo
    assert 'src="https://profile.line-scdn.net/0habc"' in row
    assert 'style="background: #0969da">x<' in row and ">y<" in row and ">z<" in row
    assert f'href="/friends/{tagged["a"]}"' in row
    assert 'data-count="5"' in html


def test_analyst_sees_masked_names_and_no_pictures(app):
    make_friends(
        app,
        [
            {
                "display_name": "佐藤 花子",
                "picture_url": "https://profile.line-scdn.net/0hpic",
                "last_followed_at": at(1),
            }
        ],
    )
    html = signed_in_client(app, "analyst").get("/friends").get_data(as_text=True)
    assert "佐＊＊" in html
    assert "佐藤 花子" not in html and "0hpic" not in html


def test_analyst_cannot_search_by_name(app):
    make_friends(app, [{"display_name": "佐藤 花子", "last_followed_at": at(1)}])
    client = signed_in_client(app, "analyst", locale="en")
    assert 'name="q"' not in client.get("/friends").get_data(as_text=True)
    response = client.get("/friends?q=佐藤")
    assert response.status_code == 400
    assert "not available to your role" in response.get_data(as_text=True)
    assert ROW.findall(response.get_data(as_text=True)) == []


def test_friend_names_are_escaped(app):
    make_friends(app, [{"display_name": XSS, "last_followed_at": at(1)}])
    html = signed_in_client(app, "staff").get("/friends").get_data(as_text=True)
    assert XSS not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


@pytest.mark.parametrize(
    "role, status", [("admin", 200), ("marketer", 200), ("staff", 200), ("analyst", 200), ("editor", 403)]
)
def test_who_may_see_the_list(app, role, status):
    assert signed_in_client(app, role).get("/friends").status_code == status


def test_signed_out_goes_to_sign_in(client):
    for path in ("/friends", "/friends/count", "/friends/bulk", "/friends/export.csv"):
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_count_is_capped_on_the_list_and_exact_on_its_page(app, monkeypatch):
    from crm.friends import list_views as friends_list

    make_friends(app, [{"display_name": f"n{i}", "last_followed_at": at(i)} for i in range(12)])
    monkeypatch.setattr(friends_list, "COUNT_CAP", 10)
    client = signed_in_client(app, "staff", locale="en")
    assert "More than 10 friends" in client.get("/friends").get_data(as_text=True)
    assert 'data-total="12"' in client.get("/friends/count").get_data(as_text=True)
    monkeypatch.setattr(friends_list, "COUNT_BUDGET_ROWS", 0)
    assert "Count matching friends" in client.get("/friends").get_data(as_text=True)


def test_bench_tag_generator_keeps_counts_right_and_feeds_the_filters(app):
    from bench.generate import generate_friends, generate_tags

    engine = get_engine(app)
    generate_friends(engine, 300, seed=3)
    first = generate_tags(engine, per_friend=10, seed=3)
    generate_friends(engine, 20, seed=4)
    second = generate_tags(engine, per_friend=10, seed=4)
    with Session(engine) as session:
        kept = dict(session.exec(select(Tag.id, Tag.friend_count)).all())
        links = session.exec(select(FriendTag.friend_id, FriendTag.tag_id)).all()
        by_tag = {tag_id: {f for f, t in links if t == tag_id} for tag_id in kept}
        assert len(kept) == 50 and {t: len(f) for t, f in by_tag.items()} == kept
        assert first.rows + second.rows == len(links) and 2_400 < len(links) < 4_000
        assert len({f for f, _ in links if f > 300}) >= 15  # the second run tagged the new friends
        common, rare = max(kept, key=kept.get), min(kept, key=kept.get)
        mid = sorted(kept, key=kept.get)[25]
        for flt, expected in [
            (FriendFilter(tags_all=(common, mid)), by_tag[common] & by_tag[mid]),
            (FriendFilter(tags_any=(rare, mid)), by_tag[rare] | by_tag[mid]),
            (FriendFilter(tags_none=(common,)), set(range(1, 321)) - by_tag[common]),
        ]:
            assert count_friends(session, flt, now=NOW) == len(expected)


def test_viewing_a_page_of_personal_data_is_audited_but_masked_views_are_not(app):
    from crm.staff.models import AuditEntry

    with session_scope(get_engine(app)) as session:
        session.add(Friend(line_user_id="U" + "c" * 32, display_name="監査 太郎", status="following"))
    staff = signed_in_client(app, "staff")
    assert staff.get("/friends?q=監査").status_code == 200
    analyst = signed_in_client(app, "analyst")
    assert analyst.get("/friends").status_code == 200
    with session_scope(get_engine(app)) as session:
        views = session.exec(select(AuditEntry).where(AuditEntry.action == "friends.list_viewed")).all()
    assert [(entry.actor, '"rows": 1' in entry.after, "監査" in entry.after) for entry in views] == [
        ("staff:staff@example.com", True, True)
    ]
