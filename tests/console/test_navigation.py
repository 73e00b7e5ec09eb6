"""The console menu: areas grouped by job in Japanese, only those the role may open, the page's area marked."""

import re

import pytest

from tests.console_helpers import signed_in_client


def _menu(page: str) -> list[tuple[str, list[str]]]:
    nav = page[page.index('<nav id="main-nav"') : page.index("</nav>")]
    groups = re.findall(r"<h2>([^<]+)</h2>\s*<ul>(.*?)</ul>", nav, re.S)
    return [(title, re.findall(r">([^<]+)</a>", links)) for title, links in groups]


def test_the_admin_sees_every_group_in_japanese(app):
    menu = _menu(signed_in_client(app, "admin").get("/").get_data(as_text=True))
    assert [title for title, _ in menu] == ["友だち・チャット", "配信", "分析", "設定"]
    assert menu[1][1] == [
        "一斉配信",
        "シナリオ配信",
        "自動応答",
        "テンプレート",
        "リッチメニュー",
        "アンケート",
        "セグメント",
    ]


@pytest.mark.parametrize("role", ["staff", "marketer", "admin"])
def test_a_role_sees_only_the_areas_it_may_open(app, role):
    client = signed_in_client(app, role)
    menu = _menu(client.get("/").get_data(as_text=True))
    assert all(links for _, links in menu), "no empty group"
    page = client.get("/").get_data(as_text=True)
    for url in re.findall(r'<a href="(/[^"]*)"', page[page.index('<nav id="main-nav"') : page.index("</nav>")]):
        assert client.get(url).status_code == 200, url
    if role == "staff":  # store staff: friends, chat, tags, keyword answers and the CSV import of field values
        assert dict(menu)["配信"] == ["自動応答"]


@pytest.mark.parametrize(
    ("path", "current"),
    [
        ("/", "ホーム"),
        ("/tags", "タグ"),
        ("/surveys/results", "アンケート結果"),
        ("/surveys", "アンケート"),
        ("/scenarios/new", "シナリオ配信"),
    ],
)
def test_the_page_shown_is_marked_in_the_menu(app, path, current):
    page = signed_in_client(app, "admin").get(path).get_data(as_text=True)
    assert re.findall(r'aria-current="page">([^<]+)</a>', page) == [current]


def test_signed_out_pages_have_no_menu(app):
    page = app.test_client().get("/login").get_data(as_text=True)
    assert 'id="main-nav"' not in page and 'id="nav-toggle"' not in page
