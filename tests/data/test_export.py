"""The full export (CSV and JSON Lines): content, batches, formula escaping, audit, permission."""

import csv
import io
import json

import pytest
from sqlmodel import select

from crm.db import get_engine, session_scope
from crm.friends import pages as friend_pages
from crm.friends.models import Friend
from crm.staff.models import AuditEntry
from tests.console_helpers import signed_in_client
from tests.data.helpers import seed, user_id


def _add_friends(app, count: int) -> None:
    with session_scope(get_engine(app)) as s:
        s.add_all([Friend(line_user_id=user_id(0x100 + n), display_name=f"=cmd|' /C calc'!A{n}") for n in range(count)])


def test_csv_export_has_every_friend_with_tags_fields_notes_answers_and_clicks(app, monkeypatch):
    monkeypatch.setattr(friend_pages, "BATCH_SIZE", 2)  # several keyset batches
    seeded = seed(app)
    _add_friends(app, 3)
    client = signed_in_client(app, "admin", locale="en")
    response = client.get("/exports/friends.csv?columns=keys")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    body = response.get_data(as_text=True)
    assert body.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(body[1:], newline="")))
    assert len(rows) == 5
    first = rows[0]
    secrets = seeded.secrets
    assert first["line_user_id"] == secrets["user_id"] and first["display_name"] == secrets["name"]
    assert first["reading"] == secrets["reading"] and rows[1]["reading"] == ""
    assert first["tags"] == "VIP" and first["field:address"] == secrets["field"] and first["field:rank"] == "gold"
    assert first["field:points"] == "" and first["notes"] == secrets["note"]
    assert f"来店アンケート / ご意見: {secrets['answer']}" in first["answers"] and "満足度: 満足" in first["answers"]
    assert "https://shop.example/sale" in first["clicks"]
    assert all(row["display_name"].startswith("'=cmd") for row in rows[2:])  # formula escaped
    with session_scope(get_engine(app)) as s:
        entry = s.exec(select(AuditEntry).where(AuditEntry.action == "friends.exported_all")).one()
        assert json.loads(entry.after) == {"format": "csv", "columns": "keys"}
        assert entry.actor == "staff:admin@example.com"


def test_csv_export_speaks_the_staff_members_language_by_default(app):
    seeded = seed(app)
    body = signed_in_client(app, "admin", locale="ja").get("/exports/friends.csv").get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(body[1:], newline="")))
    first = rows[0]
    assert first["LINEユーザーID"] == seeded.secrets["user_id"] and first["ステータス"] == "フォロー中"
    assert first["タグ"] == "VIP" and first["メモ"] == seeded.secrets["note"]
    assert first["ふりがな"] == seeded.secrets["reading"]
    assert any(name.startswith("友だち情報:") for name in first)
    assert "following" not in body and "field:" not in body


def test_json_lines_export_nests_the_related_data(app, monkeypatch):
    monkeypatch.setattr(friend_pages, "BATCH_SIZE", 1)
    seeded = seed(app)
    client = signed_in_client(app, "admin", locale="en")
    response = client.get("/exports/friends.jsonl")
    assert response.status_code == 200
    items = [json.loads(line) for line in response.get_data(as_text=True).splitlines()]
    assert [item["id"] for item in items] == [seeded.friend_id, seeded.other_id]
    first = items[0]
    assert first["notes"][0]["body"] == seeded.secrets["note"] and first["tags"] == ["VIP"]
    assert first["reading"] == seeded.secrets["reading"] and items[1]["reading"] is None
    assert first["clicks"][0]["broadcast_id"] == 1 and len(first["answers"]) == 2
    assert items[1]["notes"] == [] and items[1]["fields"] == {}


@pytest.mark.db_agnostic  # rendering and a permission check
def test_export_page_links_both_formats_and_other_roles_are_refused(app):
    admin = signed_in_client(app, "admin", locale="en")
    page = admin.get("/exports").get_data(as_text=True)
    assert 'data-export="csv"' in page and 'data-export="jsonl"' in page
    marketer = signed_in_client(app, "marketer")
    assert marketer.get("/exports/friends.csv").status_code == 403


def test_generated_bench_data_streams_out_with_every_kind(database_url):
    from sqlmodel import Session

    from bench.generate import generate_friends
    from bench.generate_extras import NOTE_TEXTS, USER_AGENTS, generate_segment_data
    from crm.db import make_engine
    from crm.privacy import export
    from crm.timeutil import utcnow

    engine = make_engine(database_url)
    try:
        generate_friends(engine, 60)
        results = generate_segment_data(engine, note_share=0.5, comment_share=1.0, report=None)
        with Session(engine) as session:
            items = [
                json.loads(line)
                for chunk in export.jsonl_chunks(session, now=utcnow(), size=7)
                for line in chunk.splitlines()
            ]
    finally:
        engine.dispose()
    assert len(items) == 60
    notes = [note["body"] for item in items for note in item["notes"]]
    assert len(notes) == next(r.rows for r in results if r.table == "note") > 0 and set(notes) <= set(NOTE_TEXTS)
    assert any(item["fields"].get("bench_plan") for item in items)
    answered = [item for item in items if item["answers"]]
    assert answered and all(
        any(a["question"] == "ご意見・ご要望" and a["answer"] for a in item["answers"]) for item in answered
    )  # every response has a free-text comment here
    clicks = [click for item in items for click in item["clicks"]]
    assert clicks and {click["user_agent"] for click in clicks} <= set(USER_AGENTS)
