"""GET /r/<token>: clicks recorded over HTTP, 302 to the stored destination only, 404 for anything else."""

import threading
from datetime import UTC, datetime

import pytest
import time_machine
from sqlalchemy import event, text
from sqlmodel import select

from crm import group_commit
from crm.db import get_engine, session_scope
from crm.tags.models import FriendTag
from crm.tracking import clicks as link_clicks
from crm.tracking import links as tracked_links
from crm.tracking import stats as click_stats
from crm.tracking.jobs import click_actions_tick
from crm.tracking.models import LinkClick
from tests.factories import make_friend, make_tag
from tests.tracking.test_tracking import BASE, TRACKED, rewrite

DESTINATION = "https://shop.example.jp/sale?item=1&utm_source=line#top"


def tracked_path(app, friend_id: int, url: str = DESTINATION, **kwargs) -> str:
    """The /r/<token> path of the friend's tracked link."""
    return TRACKED.fullmatch(rewrite(app, url, friend_id, **kwargs)).group().removeprefix(BASE)


def clicks(app) -> list[LinkClick]:
    with session_scope(get_engine(app)) as session:
        return list(session.exec(select(LinkClick).order_by(LinkClick.id)))


def test_click_is_recorded_and_redirects_to_the_stored_destination(app, client):
    friend_id = make_friend(app)
    path = tracked_path(app, friend_id, broadcast_id=9, source="broadcast:9")
    response = client.get(path, headers={"User-Agent": "Mozilla/5.0 " + "x" * 500})
    assert response.status_code == 302
    assert response.headers["Location"] == DESTINATION
    assert response.headers["Cache-Control"] == "no-store"
    (row,) = clicks(app)
    assert (row.friend_id, row.broadcast_id) == (friend_id, 9)
    assert row.user_agent.startswith("Mozilla/5.0 x") and len(row.user_agent) == 200
    assert row.clicked_at is not None


def test_repeated_clicks_are_all_counted_and_head_is_not(app, client):
    first, second = make_friend(app, n=1), make_friend(app, n=2)
    path_first, path_second = tracked_path(app, first), tracked_path(app, second)
    for path in (path_first, path_first, path_second):
        assert client.get(path).status_code == 302
    assert client.head(path_first).status_code == 302
    assert [row.friend_id for row in clicks(app)] == [first, first, second]
    with session_scope(get_engine(app)) as session:
        link_id = clicks(app)[0].link_id
        assert click_stats.link_stats(session, link_ids=[link_id])[link_id] == click_stats.LinkStats(3, 2)


@pytest.mark.parametrize(
    "agent",
    [
        "facebookexternalhit/1.1;line-poker/1.0",
        "Line/1.0 (compatible; Line-Crawler; +https://help.line.me/)",
        "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
    ],
)
def test_link_preview_robots_are_redirected_but_not_counted(app, client, agent):
    friend_id = make_friend(app)
    path = tracked_path(app, friend_id)
    preview = client.get(path, headers={"User-Agent": agent})
    assert (preview.status_code, preview.headers["Location"]) == (302, DESTINATION)
    assert clicks(app) == []
    person = client.get(path, headers={"User-Agent": "Mozilla/5.0 (iPhone) Line/14.2.0"})
    assert person.status_code == 302 and [row.friend_id for row in clicks(app)] == [friend_id]


def test_query_string_cannot_change_the_destination(app, client):
    path = tracked_path(app, make_friend(app))
    for query in ("?next=https://evil.example.com", "?url=//evil.example.com", "?redirect=%2F%2Fevil.example.com"):
        response = client.get(path + query)
        assert (response.status_code, response.headers["Location"]) == (302, DESTINATION)


def altered(token: str) -> list[str]:
    """The token with each of a few characters replaced by a neighbour."""
    result = []
    for index in (0, 10, 21):
        swapped = "B" if token[index] == "A" else "A"
        result.append(token[:index] + swapped + token[index + 1 :])
    return result


def test_tokens_altered_by_one_character_are_not_found(app, client):
    make_friend(app, n=1)
    other_token = tracked_path(app, make_friend(app, n=2)).removeprefix("/r/")
    for token in altered(other_token) + [other_token[:-1], other_token + "A", other_token.lower()]:
        response = client.get(f"/r/{token}")
        assert response.status_code == 404, token
        assert "Location" not in response.headers
    assert clicks(app) == []


@pytest.mark.parametrize(
    "path",
    [
        "/r/AAAAAAAAAAAAAAAAAAAAAA",
        "/r/unknown",
        "/r/",
        "/r//evil.example.com",
        "/r/%2F%2Fevil.example.com",
        "/r/https:%2F%2Fevil.example.com",
        "/r/https://evil.example.com",
        "/r/..%2F..%2Flogin",
        "/r/AAAAAAAAAAAAAAAAAAAAAA?next=https://evil.example.com",
        "/r/%0d%0aLocation:%20https://evil.example.com",
        "/r/\\\\evil.example.com",
        "/r/AAAAAAAAAAAAAAAAAAAAA%00",
    ],
)
def test_unknown_or_forged_tokens_get_the_404_page_and_no_redirect(app, client, path):
    tracked_path(app, make_friend(app))
    response = client.get(path)
    assert response.status_code == 404
    assert "Location" not in response.headers
    assert "evil" not in response.get_data(as_text=True)
    assert clicks(app) == []


def test_not_found_page_speaks_japanese_and_english(client):
    response = client.get("/r/AAAAAAAAAAAAAAAAAAAAAA")
    html = response.get_data(as_text=True)
    assert response.status_code == 404 and response.mimetype == "text/html"
    assert "リンクが見つかりません" in html and "Link not found" in html


def test_click_on_a_tagging_link_queues_the_tag_for_the_worker(app, client):
    friend_id, tag_id = make_friend(app), make_tag(app, "clicked")
    path = tracked_path(app, friend_id, tag_id=tag_id)
    assert client.get(path).status_code == 302
    assert client.get(path).status_code == 302
    with session_scope(get_engine(app)) as session:
        assert session.exec(select(FriendTag)).all() == []
    assert click_actions_tick(get_engine(app), batch=1) == 2
    assert click_actions_tick(get_engine(app)) == 0
    with session_scope(get_engine(app)) as session:
        (link,) = session.exec(select(FriendTag)).all()
        assert (link.friend_id, link.tag_id, link.added_by) == (friend_id, tag_id, f"link:{clicks(app)[0].link_id}")


def test_japanese_destination_is_stored_and_sent_as_an_ascii_uri(app, client):
    friend_id = make_friend(app)
    with session_scope(get_engine(app)) as session:
        link = tracked_links.create_link(session, destination="https://例え.jp/商品?色=赤#詳細")
        token = tracked_links.token_for(session, link_id=link.id, friend_id=friend_id)
    response = client.get(f"/r/{token}")
    assert response.status_code == 302
    assert response.headers["Location"] == (
        "https://xn--r8jz45g.jp/%E5%95%86%E5%93%81?%E8%89%B2=%E8%B5%A4#%E8%A9%B3%E7%B4%B0"
    )


def test_click_after_the_database_dropped_its_connections_still_counts(app, client):
    if get_engine(app).dialect.name != "postgresql":
        pytest.skip("PostgreSQL only: the click pool has no pre-ping and retries a dropped connection once")
    path = tracked_path(app, make_friend(app))
    assert client.get(path).status_code == 302
    with get_engine(app).connect() as connection:
        connection.exec_driver_sql(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    response = client.get(path)
    assert (response.status_code, response.headers["Location"]) == (302, DESTINATION)
    assert len(clicks(app)) == 2


def test_the_redirect_stores_the_click_s_time_as_utc_like_every_other_writer(app, client):
    friend_id, tag_id = make_friend(app), make_tag(app, "clicked")
    path = tracked_path(app, friend_id, tag_id=tag_id)
    at = datetime(2026, 12, 7, 1, 2, 3, 456789, tzinfo=UTC)  # 10:02 in Tokyo
    with time_machine.travel(at, tick=False):
        assert client.get(path).status_code == 302
    (row,) = clicks(app)
    assert row.clicked_at == at
    with get_engine(app).connect() as connection:  # a click stored through Core at the same time
        target = link_clicks.find_target(connection, path.removeprefix("/r/"))
        link_clicks.record_click(connection, target=target, user_agent=None, now=at)
        connection.commit()
        stored = connection.execute(text("SELECT clicked_at FROM link_click ORDER BY id")).scalars().all()
        queued = connection.execute(text("SELECT friend_id, tag_id, queued_at FROM click_action ORDER BY id")).all()
    assert stored[0] == stored[1]  # the same value as the driver returns it (text on SQLite)
    assert queued[0] == queued[1] and queued[0][:2] == (friend_id, tag_id)


def test_on_sqlite_the_302_waits_for_the_group_commit_that_stores_the_click(app):
    if get_engine(app).dialect.name != "sqlite":
        pytest.skip("SQLite only: PostgreSQL stores a click in one autocommit statement")
    path = tracked_path(app, make_friend(app))
    committer = group_commit.for_engine(get_engine(app))
    holding, release = threading.Event(), threading.Event()
    event.listen(committer.connection_engine, "commit", lambda _connection: holding.set() or release.wait(10))
    answers = []
    clicker = threading.Thread(target=lambda: answers.append(app.test_client().get(path)))
    clicker.start()
    assert holding.wait(10)  # the click's transaction is about to commit

    with get_engine(app).connect() as connection:  # a reader (session_scope would queue for the write lock)
        assert connection.execute(text("SELECT count(*) FROM link_click")).scalar_one() == 0
    assert answers == []
    release.set()
    clicker.join()
    assert answers[0].status_code == 302 and len(clicks(app)) == 1
    assert committer.commits == 1
