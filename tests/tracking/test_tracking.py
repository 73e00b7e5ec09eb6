"""Click tracking: links, per-friend rewriting, counts, tags on click, and the friend page section."""

import re

import pytest
from sqlmodel import select

from crm.db import get_engine, session_scope
from crm.staff.models import AuditEntry
from crm.tags.models import FriendTag, Tag
from crm.tracking import clicks as link_clicks
from crm.tracking import links as tracked_links
from crm.tracking import stats as click_stats
from crm.tracking.models import ClickAction, LinkToken, TrackedLink
from tests.console_helpers import signed_in_client
from tests.factories import make_broadcast, make_friend, make_tag

BASE = "https://crm.example.jp"
TRACKED = re.compile(r"https://crm\.example\.jp/r/([A-Za-z0-9_-]{22})")


def rewrite(app, text: str, friend_id: int, **kwargs) -> str:
    with session_scope(get_engine(app)) as session:
        return tracked_links.rewrite_links(
            session, text=text, friend_id=friend_id, base_url=BASE, source=kwargs.pop("source", "broadcast"), **kwargs
        )


def target(app, url: str) -> link_clicks.ClickTarget:
    """What the tracked URL points to."""
    with session_scope(get_engine(app)) as session:
        return link_clicks.find_target(session.connection(), TRACKED.fullmatch(url).group(1))


def click(app, url: str, agent: str = "Mozilla/5.0 Line/14.0") -> None:
    with session_scope(get_engine(app)) as session:
        connection = session.connection()
        link_clicks.record_click(
            connection, target=link_clicks.find_target(connection, TRACKED.fullmatch(url).group(1)), user_agent=agent
        )


def test_rewrites_every_url_in_japanese_text_keeping_the_rest(app):
    friend_id = make_friend(app)
    text = (
        "セール開催中！詳しくはhttps://shop.example.jp/sale?utm_source=line&id=3#top をご覧ください。\n"
        "予約：http://reserve.example.com/a_(b)。地図（https://maps.example.com/x）"
    )
    out = rewrite(app, text, friend_id)
    urls = TRACKED.findall(out)
    assert len(urls) == 3
    assert TRACKED.sub("URL", out) == "セール開催中！詳しくはURL をご覧ください。\n予約：URL。地図（URL）"
    destinations = [target(app, f"{BASE}/r/{token}").destination for token in urls]
    assert destinations == [
        "https://shop.example.jp/sale?utm_source=line&id=3#top",
        "http://reserve.example.com/a_(b)",
        "https://maps.example.com/x",
    ]
    assert all(len(f"{BASE}/r/{token}") <= tracked_links.URL_MAX_CHARS for token in urls)


def test_same_url_same_friend_gets_one_token_and_friends_get_different_tokens(app):
    first, second = make_friend(app, n=1), make_friend(app, n=2)
    text = "A https://example.com/x B https://example.com/x"
    out_first = rewrite(app, text, first)
    again = rewrite(app, text, first)
    out_second = rewrite(app, text, second)
    tokens_first, tokens_second = TRACKED.findall(out_first), TRACKED.findall(out_second)
    assert tokens_first[0] == tokens_first[1] and out_first == again
    assert tokens_first[0] != tokens_second[0]
    assert target(app, f"{BASE}/r/{tokens_first[0]}").friend_id == first
    assert target(app, f"{BASE}/r/{tokens_second[0]}").friend_id == second
    with session_scope(get_engine(app)) as session:
        assert len(session.exec(select(TrackedLink)).all()) == 1
        assert len(session.exec(select(LinkToken)).all()) == 2


def test_non_http_schemes_and_already_tracked_urls_are_left_alone(app):
    friend_id = make_friend(app)
    text = (
        "電話 tel:0312345678 mailto:a@example.com line://ti/p/@abc ftp://x.example.com https:// "
        f"{BASE}/r/{'A' * 22} http://[oops http://host:notaport/"
    )
    assert rewrite(app, text, friend_id) == text


def test_tracking_off_changes_nothing_and_stores_nothing(app):
    friend_id = make_friend(app)
    text = "https://example.com/a"
    assert rewrite(app, text, friend_id, track=False) == text
    with session_scope(get_engine(app)) as session:
        assert session.exec(select(TrackedLink)).all() == []


def test_link_keeps_context_broadcast_source_and_tag(app):
    friend_id, tag_id = make_friend(app), make_tag(app, "clicked")
    out = rewrite(app, "https://example.com/p", friend_id, source="richmenu:3", tag_id=tag_id, broadcast_id=42)
    found = target(app, out)
    assert (found.broadcast_id, found.tag_id, found.friend_id) == (42, tag_id, friend_id)
    with session_scope(get_engine(app)) as session:
        assert session.get(TrackedLink, found.link_id).source == "richmenu:3"


@pytest.mark.parametrize(
    "destination",
    [
        "javascript:alert(1)",
        "ftp://example.com/",
        "//evil.example.com",
        "https://",
        "data:text/html,hi",
        "https://exa mple.com",
        "x" * 3000,
    ],
)
@pytest.mark.db_agnostic  # validation of the destination before any row is written
def test_only_http_and_https_destinations_can_be_created(session, destination):
    with pytest.raises(tracked_links.TrackingError):
        tracked_links.create_link(session, destination=destination)


def test_clicks_counted_separately_from_unique_clickers(app):
    first, second = make_friend(app, n=1), make_friend(app, n=2)
    url_first = rewrite(app, "https://example.com/a", first, broadcast_id=7)
    url_second = rewrite(app, "https://example.com/a", second, broadcast_id=7)
    for url in (url_first, url_first, url_first, url_second):
        click(app, url)
    link_id = target(app, url_first).link_id
    with session_scope(get_engine(app)) as session:
        assert click_stats.link_stats(session, link_ids=[link_id, 999]) == {
            link_id: click_stats.LinkStats(clicks=4, unique_clickers=2),
            999: click_stats.LinkStats(),
        }
        assert click_stats.broadcast_stats(session, broadcast_id=7) == click_stats.LinkStats(4, 2)
        assert click_stats.broadcast_stats(session, broadcast_id=8) == click_stats.LinkStats(0, 0)


def test_tag_on_click_is_queued_then_added_once_through_the_tag_service(app):
    friend_id, tag_id = make_friend(app), make_tag(app, "clicked")
    url = rewrite(app, "https://example.com/t", friend_id, tag_id=tag_id)
    click(app, url)
    click(app, url)
    link_id = target(app, url).link_id
    with session_scope(get_engine(app)) as session:
        assert session.exec(select(FriendTag)).all() == []  # deferred: nothing tagged in the request
        assert link_clicks.apply_click_actions(session) == 2
    with session_scope(get_engine(app)) as session:
        assert session.exec(select(ClickAction)).all() == []
        (link,) = session.exec(select(FriendTag)).all()
        assert (link.friend_id, link.tag_id, link.added_by) == (friend_id, tag_id, f"link:{link_id}")
        assert session.get(Tag, tag_id).friend_count == 1
        entries = session.exec(select(AuditEntry).where(AuditEntry.action == "friend.tag_added")).all()
        assert [(entry.actor, entry.target_id) for entry in entries] == [(f"link:{link_id}", str(friend_id))]
        assert link_clicks.apply_click_actions(session) == 0


def test_queued_action_for_a_deleted_tag_is_dropped(app):
    friend_id, tag_id = make_friend(app), make_tag(app, "clicked")
    url = rewrite(app, "https://example.com/t", friend_id, tag_id=tag_id)
    click(app, url)
    with session_scope(get_engine(app)) as session:
        session.delete(session.get(Tag, tag_id))
    with session_scope(get_engine(app)) as session:
        assert session.get(TrackedLink, target(app, url).link_id).tag_id is None
        assert link_clicks.apply_click_actions(session) == 1
    with session_scope(get_engine(app)) as session:
        assert session.exec(select(ClickAction)).all() == []
        assert session.exec(select(FriendTag)).all() == []


IPHONE_LINE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148"
    ' Safari Line/14.9.0 "><b>x'
)


def test_friend_page_lists_clicks_with_a_device_summary_hidden_from_analysts(app):
    friend_id, other = make_friend(app, n=1), make_friend(app, n=2)
    click(app, rewrite(app, "https://example.com/mine", friend_id, source="survey:5"), agent=IPHONE_LINE)
    click(app, rewrite(app, "https://example.com/theirs", other))
    html = signed_in_client(app, "staff", locale="ja").get(f"/friends/{friend_id}").get_data(as_text=True)
    section = html[html.index('id="clicks"') : html.index('id="broadcasts"')]
    assert "https://example.com/mine" in section and "アンケート" in section and "survey:5" not in section
    assert "iPhone · iOS 17 · LINE" in section, "the device in words, not the raw User-Agent"
    assert "<b>x" not in section and "Mozilla/5.0" not in section.split("title=")[0]
    assert "theirs" not in section
    masked = signed_in_client(app, "analyst", locale="en", email="a@example.com").get(f"/friends/{friend_id}")
    masked_section = masked.get_data(as_text=True).split('id="clicks"')[1].split('id="broadcasts"')[0]
    assert "https://example.com/mine" in masked_section and "iPhone" not in masked_section


def test_a_click_from_a_broadcast_names_the_broadcast(app):
    friend_id = make_friend(app)
    broadcast_id = make_broadcast(app, [{"type": "text", "text": "x"}], name="冬のセール")
    click(app, rewrite(app, "https://example.com/sale", friend_id, broadcast_id=broadcast_id))
    html = signed_in_client(app, "staff", locale="ja").get(f"/friends/{friend_id}").get_data(as_text=True)
    section = html[html.index('id="clicks"') : html.index('id="broadcasts"')]
    assert "配信「冬のセール」" in section and f"#{broadcast_id}" not in section


def test_friend_page_without_clicks_says_so(app):
    friend_id = make_friend(app)
    html = signed_in_client(app, "staff", locale="en").get(f"/friends/{friend_id}").get_data(as_text=True)
    assert "No link clicks yet." in html.split('id="clicks"')[1].split('id="broadcasts"')[0]


def test_an_anonymous_link_is_one_token_counted_without_a_friend_and_never_tags(app):
    tag_id = make_tag(app, "clicked")
    with session_scope(get_engine(app)) as session:
        url = tracked_links.anonymous_url(
            session, destination="https://example.com/menu", base_url=BASE, source="richmenu:1"
        )
        assert (
            tracked_links.anonymous_url(
                session, destination="https://example.com/menu", base_url=BASE, source="richmenu:1"
            )
            == url
        )
        assert (
            tracked_links.anonymous_url(session, destination="mailto:a@example.com", base_url=BASE, source="richmenu:1")
            == "mailto:a@example.com"
        )
        link = session.exec(select(TrackedLink)).one()
        link.tag_id = tag_id  # even a link with a tag: an anonymous click has nobody to tag
    assert (target(app, url).friend_id, target(app, url).destination) == (None, "https://example.com/menu")
    click(app, url)
    click(app, url)
    with session_scope(get_engine(app)) as session:
        assert [row.friend_id for row in session.exec(select(LinkToken))] == [None]
        assert session.exec(select(ClickAction)).all() == []
        [(destination, stats)] = click_stats.source_stats(session, source="richmenu:1")
    assert (destination, stats.clicks, stats.unique_clickers) == ("https://example.com/menu", 2, 0)
