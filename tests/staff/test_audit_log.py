"""The audit log browser: newest first, keyset pages, filters in Japan time, escaped snapshots, read-only."""

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from crm.broadcasts.models import BroadcastStatus
from crm.db import get_engine, session_scope
from crm.scenarios.builder import MOVES
from crm.staff.audit_views import AuditFilter, audit_page
from crm.staff.audit_words import ACTION_WORDS
from crm.staff.models import AuditEntry, Staff
from tests.console_helpers import csrf_token, signed_in_client
from tests.factories import make_friend, make_staff, make_tag

T0 = datetime(2024, 4, 1, 3, 0, tzinfo=UTC)
ENTRY_ROW = re.compile(r'data-entry="(\d+)"')


def _add(app, *entries: dict) -> list[int]:
    """Store audit entries (dicts of AuditEntry fields); return their ids."""
    with session_scope(get_engine(app)) as session:
        rows = [AuditEntry(**{"actor": "system", "action": "test.event", **entry}) for entry in entries]
        session.add_all(rows)
        session.flush()
        return [row.id for row in rows]


def _shown(html: str) -> list[int]:
    return [int(entry_id) for entry_id in ENTRY_ROW.findall(html)]


def _walk(client, url: str) -> list[list[int]]:
    """Follow the 'older entries' links from url; return the entry ids of each page."""
    pages = []
    while url:
        html = client.get(url).get_data(as_text=True)
        pages.append(_shown(html))
        match = re.search(r'rel="next" href="([^"]+)"', html)
        url = match.group(1).replace("&amp;", "&") if match else None
    return pages


def test_entries_are_shown_newest_first_in_keyset_pages(app):
    ids = _add(app, *({"at": T0 + timedelta(minutes=i)} for i in range(120)))
    client = signed_in_client(app, "admin")
    pages = _walk(client, "/audit?action=test.")
    assert [len(page) for page in pages] == [50, 50, 20]
    assert sum(pages, []) == list(reversed(ids))


def test_entries_with_the_same_time_are_neither_skipped_nor_repeated(app):
    ids = _add(app, *({"at": T0} for _ in range(7)))
    with session_scope(get_engine(app)) as session:
        seen, cursor = [], None
        while True:
            page, cursor = audit_page(session, filters=AuditFilter(action="test."), before_id=cursor, limit=3)
            seen += [entry.id for entry in page]
            if cursor is None:
                break
    assert seen == sorted(ids, reverse=True)


def test_filters_by_actor_action_and_target(app):
    mine, _other, _third = _add(
        app,
        {"actor": "staff:hana@example.com", "action": "tag.created", "target_type": "tag", "target_id": "7"},
        {"actor": "staff:ken@example.com", "action": "tag.created", "target_type": "tag", "target_id": "8"},
        {"actor": "staff:hana@example.com", "action": "staff.created", "target_type": "staff", "target_id": "7"},
    )
    client = signed_in_client(app, "admin")
    assert _shown(client.get("/audit?actor=HANA&action=tag.").get_data(as_text=True)) == [mine]
    assert _shown(client.get("/audit?target_type=tag&target_id=7").get_data(as_text=True)) == [mine]
    assert _shown(client.get("/audit?actor=nobody").get_data(as_text=True)) == []


def test_like_wildcards_in_filters_are_literal(app):
    _add(app, {"actor": "staff:a@example.com", "action": "tag.created"})
    client = signed_in_client(app, "admin")
    assert _shown(client.get("/audit?action=%25").get_data(as_text=True)) == []
    assert _shown(client.get("/audit?actor=_").get_data(as_text=True)) == []


def test_date_range_is_read_in_japan_time(app):
    jst_midnight_april_1 = datetime(2024, 3, 31, 15, 0, tzinfo=UTC)
    before, first, last, after = _add(
        app,
        {"at": jst_midnight_april_1 - timedelta(seconds=1)},
        {"at": jst_midnight_april_1},
        {"at": jst_midnight_april_1 + timedelta(days=2, seconds=-1)},
        {"at": jst_midnight_april_1 + timedelta(days=2)},
    )
    client = signed_in_client(app, "admin")
    html = client.get("/audit?action=test.&date_from=2024-04-01&date_to=2024-04-02").get_data(as_text=True)
    assert _shown(html) == [last, first]
    assert "2024/04/01 00:00:00" in html and "2024/04/02 23:59:59" in html
    assert _shown(client.get("/audit?action=test.&date_to=2024-03-31").get_data(as_text=True)) == [before]
    assert _shown(client.get("/audit?action=test.&date_from=2024-04-03").get_data(as_text=True)) == [after]


def test_a_bad_date_is_reported_and_ignored(app):
    _add(app, {})
    response = signed_in_client(app, "admin").get("/audit?date_from=not-a-date&action=test.")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'class="error"' in html and len(_shown(html)) == 1


@pytest.mark.db_agnostic  # escaping in the rendered pages
def test_before_and_after_are_readable_and_escaped(app):
    [entry_id] = _add(
        app,
        {
            "action": "friend.renamed",
            "before": '{"name": "<b>old</b>", "active": true}',
            "after": '{"name": "<script>alert(1)</script>", "tags": ["VIP", "常連"], "active": false,'
            ' "at": "2026-12-06T15:30:00+00:00"}',
        },
    )
    client = signed_in_client(app, "admin")
    for html in (client.get("/audit").get_data(as_text=True), client.get(f"/audit/{entry_id}").get_data(as_text=True)):
        assert "<script>alert(1)</script>" not in html and "<b>old</b>" not in html
        rows = dict(_change_rows(html))
        assert rows["name"] == ("&lt;b&gt;old&lt;/b&gt;", "&lt;script&gt;alert(1)&lt;/script&gt;")
        assert rows["tags"] == ("", "VIP、常連"), "a list reads as words, absent before"
        assert rows["active"] == ("はい", "いいえ")
        assert rows["at"] == ("", "2026/12/07 00:30:00"), "times are shown in Japan time"


def _change_rows(html: str) -> list[tuple[str, tuple[str, str]]]:
    pattern = r'<th scope="row">([^<]*)</th><td data-before>([^<]*)</td><td data-after>([^<]*)</td>'
    return [(key, (before, after)) for key, before, after in re.findall(pattern, html)]


def test_actions_people_and_targets_are_shown_in_words_with_links(app):
    staff_email = make_staff(app, "marketer", email="hanako@example.com")
    friend_id = make_friend(app, display_name="佐藤花子")
    tag_id = make_tag(app, "常連")
    with session_scope(get_engine(app)) as session:
        staff = session.exec(select(Staff).where(Staff.email == staff_email)).one()
        staff_id, staff_name = staff.id, staff.display_name
    _add(
        app,
        {
            "actor": f"staff:{staff_email}",
            "actor_staff_id": staff_id,
            "action": "friend.tag_added",
            "target_type": "friend",
            "target_id": str(friend_id),
            "after": f'{{"tag_id": {tag_id}}}',
        },
        {"actor": "api:会員システム#4", "action": "tag.created", "target_type": "tag", "target_id": str(tag_id)},
        {"actor": "survey:9", "action": "field.set", "target_type": "friend", "target_id": "999999"},
    )
    html = signed_in_client(app, "admin").get("/audit").get_data(as_text=True)
    text = re.sub(r"<[^>]+>", " ", html)
    assert "友だちにタグを付けた" in text and "タグを作成" in text
    assert staff_name in text and "連携「会員システム」" in text and "アンケート #9" in text
    assert f'<a href="/friends/{friend_id}">佐藤花子</a>' in html
    assert "常連" in text
    for raw in ("friend.tag_added", "tag.created", "staff:hanako", "api:会員システム", "friend 9"):
        assert raw not in text, f"raw code {raw!r} on a Japanese screen"


def test_the_action_filter_offers_words_and_keeps_prefix_filters(app):
    _add(app, {"action": "tag.created"}, {"action": "tag.deleted"}, {"action": "segment.created"})
    client = signed_in_client(app, "admin")
    html = client.get("/audit").get_data(as_text=True)
    assert '<option value="tag.">タグ（すべての操作）</option>' in html
    assert len(_shown(client.get("/audit?action=tag.").get_data(as_text=True))) == 2
    assert len(_shown(client.get("/audit?action=segment.created").get_data(as_text=True))) == 1


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
@pytest.mark.db_agnostic  # routing: no route writes an entry
def test_entries_cannot_be_changed_or_deleted(app, method):
    [entry_id] = _add(app, {"action": "tag.created", "after": '{"name": "x"}'})
    client = signed_in_client(app, "admin")
    token = csrf_token(client, "/audit")
    for path in (f"/audit/{entry_id}", "/audit", f"/audit/{entry_id}/edit", f"/audit/{entry_id}/delete"):
        response = client.open(path, method=method, data={"csrf_token": token, "after": "{}"})
        assert response.status_code in (404, 405), path
    with session_scope(get_engine(app)) as session:
        assert session.get(AuditEntry, entry_id).after == '{"name": "x"}'


@pytest.mark.db_agnostic  # routing: no route writes an entry
def test_audit_routes_only_read(app):
    rules = [rule for rule in app.url_map.iter_rules() if rule.endpoint.startswith("audit.")]
    assert {rule.endpoint for rule in rules} == {"audit.index", "audit.entry"}
    assert all(rule.methods <= {"GET", "HEAD", "OPTIONS"} for rule in rules)


def test_list_page_has_no_form_that_changes_anything(app):
    _add(app, {"action": "tag.created"})
    html = signed_in_client(app, "admin").get("/audit").get_data(as_text=True)
    content = html.split('<main class="content">', 1)[1]
    assert "<form" in content and 'method="post"' not in content.lower()
    assert "csrf_token" not in content


def test_every_action_the_code_records_has_words():
    """No raw code on a Japanese screen: each literal action code in the sources, each broadcast status and each
    scenario status move is in the table of words."""
    root = Path(__file__).resolve().parents[2]
    literal = re.compile(r'(?:action=|_audit\(session, actor, )"([a-z_]+\.[a-z_]+)"')
    codes = {code for folder in ("crm", "surveys") for path in (root / folder).rglob("*.py")
             for code in literal.findall(path.read_text(encoding="utf-8"))}  # fmt: skip
    codes |= {f"broadcast.{status}" for status in BroadcastStatus}
    codes |= {f"scenario.{move}d" for move in MOVES}
    missing = sorted(code for code in codes if code not in ACTION_WORDS and not code.startswith("test."))
    assert missing == []
