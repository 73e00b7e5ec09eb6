"""Bulk tagging of the filtered friend list (count, confirmation, batches, audit) and its CSV export."""

import csv
import io
import json
import re
from datetime import UTC, datetime

import pytest
from sqlmodel import select

from crm.db import get_engine, session_scope
from crm.friends import bulk_views
from crm.friends import pages as friend_pages
from crm.friends.csv_export import friends_csv
from crm.friends.models import Friend
from crm.friends.query import FriendFilter
from crm.staff.models import AuditEntry
from crm.tags.models import FriendTag, Tag
from crm.timeutil import utcnow
from tests.console_helpers import csrf_token, signed_in_client
from tests.factories import make_friend, make_friends, make_tags
from tests.friends.test_list import at

CONFIRM_TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


@pytest.fixture
def crowd(app):
    """Seven friends: five named 佐藤 (two of them with tag "vip"), two others; plus an empty tag "new"."""
    vip, new = make_tags(app, "vip", "new")
    rows = [{"display_name": f"佐藤 {i}", "tags": [vip] if i < 2 else [], "last_followed_at": at(i)} for i in range(5)]
    rows += [
        {"display_name": "鈴木", "last_followed_at": at(9)},
        {"display_name": '=HYPERLINK("x")', "last_followed_at": None},
    ]
    return {"vip": vip, "new": new, "ids": make_friends(app, rows)}


def tag_state(app, tag_id: int) -> tuple[set[int], int]:
    """(friends with the tag, the tag's kept friend_count)."""
    with session_scope(get_engine(app)) as session:
        linked = set(session.exec(select(FriendTag.friend_id).where(FriendTag.tag_id == tag_id)).all())
        return linked, session.get(Tag, tag_id).friend_count


def audit_entries(app, action: str) -> list[AuditEntry]:
    with session_scope(get_engine(app)) as session:
        return session.exec(select(AuditEntry).where(AuditEntry.action == action)).all()


def test_bulk_add_confirms_the_count_then_tags_the_filtered_friends(app, crowd, monkeypatch):
    monkeypatch.setattr(friend_pages, "BATCH_SIZE", 2)  # several batches even with a handful of friends
    client = signed_in_client(app, "staff", locale="en")
    page = client.get(f"/friends/bulk?q=佐藤&scope=all&action=add&tag={crowd['new']}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'data-total="5"' in html and "Add the tag “new” to 5 friends?" in html
    assert "Name contains" in html and "佐藤" in html
    assert tag_state(app, crowd["new"]) == (set(), 0)  # nothing changes before confirming
    token = CONFIRM_TOKEN.search(html).group(1)
    response = client.post(
        "/friends/bulk?q=佐藤", data={"action": "add", "tag": crowd["new"], "scope": "all", "csrf_token": token}
    )
    assert response.status_code == 302 and "q=" in response.headers["Location"]
    assert tag_state(app, crowd["new"]) == (set(crowd["ids"][:5]), 5)
    [entry] = audit_entries(app, "friends.bulk_tag_added")
    assert json.loads(entry.after) == {"filter": {"search": "佐藤"}, "tag_id": crowd["new"], "matched": 5, "changed": 5}
    assert entry.actor == "staff:staff@example.com" and entry.target_id == str(crowd["new"])


def test_bulk_remove_by_tag_filter(app, crowd):
    client = signed_in_client(app, "marketer")
    token = csrf_token(client, f"/friends/bulk?tag_all={crowd['vip']}&scope=all&action=remove&tag={crowd['vip']}")
    client.post(
        f"/friends/bulk?tag_all={crowd['vip']}",
        data={"action": "remove", "tag": crowd["vip"], "scope": "all", "csrf_token": token},
    )
    assert tag_state(app, crowd["vip"]) == (set(), 0)
    [entry] = audit_entries(app, "friends.bulk_tag_removed")
    assert json.loads(entry.after)["matched"] == 2 and json.loads(entry.after)["changed"] == 2


def test_bulk_apply_streams_ids_in_batches_of_1000(app, crowd, monkeypatch):
    seen = []
    original = bulk_views.add_tag_to_many

    def spy(session, *, friend_ids, tag_id, actor):
        seen.append(len(friend_ids))
        return original(session, friend_ids=friend_ids, tag_id=tag_id, actor=actor)

    monkeypatch.setattr(bulk_views, "add_tag_to_many", spy)
    monkeypatch.setattr(friend_pages, "BATCH_SIZE", 3)
    client = signed_in_client(app, "admin")
    token = csrf_token(client, f"/friends/bulk?scope=all&action=add&tag={crowd['new']}")
    client.post("/friends/bulk", data={"action": "add", "tag": crowd["new"], "scope": "all", "csrf_token": token})
    assert seen == [3, 3, 1]
    assert tag_state(app, crowd["new"]) == (set(crowd["ids"]), 7)


def test_bulk_on_the_friends_ticked_on_the_page_only(app, crowd):
    client = signed_in_client(app, "staff", locale="ja")
    listing = client.get("/friends").get_data(as_text=True)
    assert 'data-select-all="friend"' in listing and f'name="friend" value="{crowd["ids"][0]}"' in listing
    ticked = crowd["ids"][:2]
    query = "&".join(f"friend={friend_id}" for friend_id in ticked)
    page = client.get(f"/friends/bulk?scope=selected&action=add&tag={crowd['new']}&{query}").get_data(as_text=True)
    assert 'data-total="2"' in page
    token = CONFIRM_TOKEN.search(page).group(1)
    data = {"action": "add", "tag": crowd["new"], "scope": "selected", "friend": ticked, "csrf_token": token}
    assert client.post("/friends/bulk", data=data).status_code == 302
    assert tag_state(app, crowd["new"]) == (set(ticked), 2)
    [entry] = audit_entries(app, "friends.bulk_tag_added")
    assert json.loads(entry.after)["friend_ids"] == ticked


def test_bulk_with_nothing_ticked_asks_to_tick_friends(app, crowd):
    client = signed_in_client(app, "staff", locale="ja")
    response = client.get(f"/friends/bulk?scope=selected&action=add&tag={crowd['new']}", follow_redirects=True)
    assert "友だちにチェックを入れる" in response.get_data(as_text=True)


@pytest.mark.db_agnostic  # the CSRF check refuses the form before the view runs
def test_bulk_without_csrf_token_changes_nothing(app, crowd):
    client = signed_in_client(app, "admin")
    assert client.post("/friends/bulk", data={"action": "add", "tag": crowd["new"]}).status_code == 400
    assert tag_state(app, crowd["new"]) == (set(), 0)


def test_bulk_with_an_unknown_tag_is_refused(app, crowd):
    client = signed_in_client(app, "admin", locale="en")
    response = client.get("/friends/bulk?scope=all&action=add&tag=99999", follow_redirects=True)
    assert "an action and a tag" in response.get_data(as_text=True)


@pytest.mark.parametrize("role, status", [("analyst", 403), ("editor", 403), ("staff", 200), ("marketer", 200)])
def test_who_may_use_bulk_actions(app, crowd, role, status):
    client = signed_in_client(app, role)
    assert client.get(f"/friends/bulk?scope=all&action=add&tag={crowd['new']}").status_code == status


def read_csv(response) -> list[list[str]]:
    body = response.get_data()
    assert body.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM for Excel
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def test_export_streams_the_filtered_friends_as_csv_and_audits(app, crowd, monkeypatch):
    monkeypatch.setattr(friend_pages, "BATCH_SIZE", 2)
    with session_scope(get_engine(app)) as session:
        session.get(Friend, crowd["ids"][0]).last_followed_at = datetime(2026, 1, 1, 15, 30, tzinfo=UTC)
    client = signed_in_client(app, "admin", locale="en")
    response = client.get(f"/friends/export.csv?tag_all={crowd['vip']}")
    assert response.status_code == 200 and response.is_streamed
    assert response.mimetype == "text/csv" and "attachment" in response.headers["Content-Disposition"]
    header, *rows = read_csv(response)
    assert header[:3] == ["Friend ID", "LINE user ID", "Display name"]
    assert [row[2] for row in rows] == ["佐藤 0", "佐藤 1"]
    assert rows[0][7] == "2026-01-02 00:30:00" and rows[0][10] == "vip"
    assert get_engine(app).pool.checkedout() == 0  # the stream closed its database session
    [entry] = audit_entries(app, "friends.exported")
    assert json.loads(entry.after) == {"filter": {"tags_all": [crowd["vip"]]}, "rows": 2}
    assert entry.actor == "staff:admin@example.com"


def test_export_neutralises_spreadsheet_formulas(app, crowd):
    response = signed_in_client(app, "admin").get("/friends/export.csv")
    rows = read_csv(response)[1:]
    assert len(rows) == 7
    assert '\'=HYPERLINK("x")' in [row[2] for row in rows]


@pytest.mark.parametrize("role", ["analyst", "marketer", "staff", "editor"])
@pytest.mark.db_agnostic  # a permission check: the guard refuses before the view runs
def test_only_admins_export(app, crowd, role):
    assert signed_in_client(app, role).get("/friends/export.csv").status_code == 403
    assert audit_entries(app, "friends.exported") == []


def test_export_with_a_bad_filter_is_refused_without_audit(app, crowd):
    client = signed_in_client(app, "admin")
    response = client.get("/friends/export.csv?followed_from=nope")
    assert response.status_code == 302
    assert audit_entries(app, "friends.exported") == []


def test_the_list_export_says_each_status_in_words(app):
    make_friend(app, status="blocked")
    body = signed_in_client(app, "admin", locale="ja").get("/friends/export.csv").get_data(as_text=True)
    assert "ブロック" in body.splitlines()[1] and "blocked" not in body


def test_the_list_export_has_the_reading_but_not_for_roles_without_personal_data(app):
    make_friend(app, display_name="佐藤健太", reading="さとうけんた")
    header, row = read_csv(signed_in_client(app, "admin", locale="ja").get("/friends/export.csv"))
    assert header[2:4] == ["表示名", "ふりがな"] and row[2:4] == ["佐藤健太", "さとうけんた"]
    with app.test_request_context():  # only admins may export today; the masking holds if that widens
        body = "".join(friends_csv(get_engine(app), FriendFilter(), now=utcnow(), role="analyst"))
    [row] = list(csv.reader(io.StringIO(body[1:])))[1:]
    assert row[3] == "" and "さとう" not in body
