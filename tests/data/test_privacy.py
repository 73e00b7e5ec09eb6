"""Per-friend data export and erasure: nothing personal left in any table, counts kept, re-follow is new."""

import json

from sqlalchemy import func, inspect, text
from sqlmodel import SQLModel, select

from crm.db import get_engine, session_scope
from crm.fields.models import FieldValue
from crm.friends import service as friend_service
from crm.friends.models import Message, Note
from crm.outbound.models import RelayItem, WebhookDelivery
from crm.privacy import service as privacy
from crm.segments import service as segments
from crm.staff.models import AuditEntry
from crm.tags.models import FriendTag, Tag
from crm.timeutil import utcnow
from crm.tracking.models import LinkClick
from surveys.models import SurveyAnswer
from tests.console_helpers import csrf_token, signed_in_client
from tests.data.helpers import SYSTEM, friend, scan, seed


def test_friend_data_download_holds_everything(app):
    seeded = seed(app)
    client = signed_in_client(app, "admin", locale="en")
    response = client.get(f"/friends/{seeded.friend_id}/data.json")
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    data = json.loads(response.get_data(as_text=True))
    secrets = seeded.secrets
    assert data["display_name"] == secrets["name"] and data["line_user_id"] == secrets["user_id"]
    assert data["tags"] == ["VIP"] and data["fields"] == {"address": secrets["field"], "rank": "gold"}
    assert [n["body"] for n in data["notes"]] == [secrets["note"]]
    assert [m["text"] for m in data["messages"]] == [secrets["incoming"], secrets["outgoing"]]
    assert {(a["question"], a["answer"]) for a in data["answers"]} == {
        ("ご意見", secrets["answer"]),
        ("満足度", "満足"),
    }
    assert data["clicks"][0]["url"] == "https://shop.example/sale"
    assert data["clicks"][0]["user_agent"] == secrets["user_agent"]
    assert [(r["route"], r["kind"]) for r in data["routes"]] == [("店頭ポスター", "new")]
    with session_scope(get_engine(app)) as s:
        entry = s.exec(select(AuditEntry).where(AuditEntry.action == "friend.data_exported")).one()
        assert entry.target_id == str(seeded.friend_id) and entry.after is None


def _erase(client, friend_id: int, typed: str):
    token = csrf_token(client, f"/friends/{friend_id}/erase")
    return client.post(f"/friends/{friend_id}/erase", data={"csrf_token": token, "confirm": typed})


def test_erasure_needs_the_typed_number_and_says_it_cannot_be_undone(app):
    seeded = seed(app)
    client = signed_in_client(app, "admin", locale="en")
    page = client.get(f"/friends/{seeded.friend_id}/erase").get_data(as_text=True)
    assert "This cannot be undone." in page
    assert _erase(client, seeded.friend_id, "yes").status_code == 400
    assert friend(app, seeded.friend_id).display_name == seeded.secrets["name"]


def _name_search(app) -> list[int]:
    """Friend ids the SQLite name-search index (migration 0003) finds for part of the erased name."""
    with get_engine(app).connect() as connection:
        return list(
            connection.execute(
                text("SELECT rowid FROM friend_search WHERE friend_search MATCH :q"), {"q": 'name:"花子Er"'}
            ).scalars()
        )


def test_erasure_leaves_no_personal_data_in_any_table(app):
    seeded = seed(app)
    secrets = seeded.secrets
    assert {needle for _t, _c, needle in scan(app, list(secrets.values()))} == set(secrets.values())
    if get_engine(app).dialect.name == "sqlite":
        assert _name_search(app) == [seeded.friend_id]
    client = signed_in_client(app, "admin", locale="en")
    response = _erase(client, seeded.friend_id, str(seeded.friend_id))
    assert response.status_code == 302
    assert scan(app, list(secrets.values())) == []
    scanned = set(inspect(get_engine(app)).get_table_names())
    assert set(SQLModel.metadata.tables) <= scanned and "survey_answer" in scanned  # every model's table
    if get_engine(app).dialect.name == "sqlite":
        assert {"friend_search", "friend_search_data"} <= scanned  # and the FTS index with its shadow tables
    erased = friend(app, seeded.friend_id)
    assert erased.line_user_id.startswith("erased:") and erased.display_name is None
    assert erased.status == "erased" and erased.follow_count == 1  # still counted, never a recipient
    with session_scope(get_engine(app)) as s:
        assert (
            s.exec(select(func.count()).select_from(segments.recipient_ids(s, None, now=utcnow()).subquery())).one()
            == 1
        )  # only the other friend
        assert s.exec(select(WebhookDelivery)).all() == [] and s.exec(select(RelayItem)).all() == []
    if get_engine(app).dialect.name == "sqlite":  # the name-search index forgot the name
        assert _name_search(app) == []
    page = client.get(f"/friends/{seeded.friend_id}").get_data(as_text=True)
    assert "This friend&#39;s data was erased." in page or "This friend's data was erased." in page


def test_erasure_keeps_anonymous_counts_and_the_other_friend(app):
    seeded = seed(app)
    with session_scope(get_engine(app)) as s:
        privacy.erase_friend(s, friend_id=seeded.friend_id, actor=SYSTEM)
    with session_scope(get_engine(app)) as s:
        assert s.get(Tag, seeded.tag_id).friend_count == 2
        assert s.exec(select(func.count()).select_from(FriendTag)).one() == 2
        assert s.exec(select(func.count()).select_from(LinkClick)).one() == 1  # the click still counts
        assert s.exec(select(func.count()).select_from(Message)).one() == 2  # conversation length kept
        assert s.exec(select(SurveyAnswer.choice_id).where(SurveyAnswer.choice_id.is_not(None))).all() != []
        assert s.exec(select(Note)).all() == [] and s.exec(select(FieldValue)).all() == []
        [entry] = s.exec(select(AuditEntry).where(AuditEntry.action == "friend.erased")).all()
        counts = json.loads(entry.after)
        assert counts["notes"] == 1 and counts["field_values"] == 2 and counts["answer_texts"] == 1
    assert friend(app, seeded.other_id).display_name == "残る太郎"


def test_following_again_after_erasure_creates_a_new_friend(app):
    seeded = seed(app)
    with session_scope(get_engine(app)) as s:
        privacy.erase_friend(s, friend_id=seeded.friend_id, actor=SYSTEM)
    with session_scope(get_engine(app)) as s:
        new_id = friend_service.follow(s, line_user_id=seeded.secrets["user_id"], at=utcnow())
    assert new_id != seeded.friend_id
    again = friend(app, new_id)
    assert again.line_user_id == seeded.secrets["user_id"] and again.follow_count == 1


def test_erasing_twice_is_refused(app):
    seeded = seed(app)
    client = signed_in_client(app, "admin", locale="en")
    assert _erase(client, seeded.friend_id, str(seeded.friend_id)).status_code == 302
    response = client.get(f"/friends/{seeded.friend_id}/erase")
    assert response.status_code == 302


def test_registered_scrubbers_run_in_the_erasure_with_the_old_user_id(app, monkeypatch):
    monkeypatch.setattr(privacy, "_scrubbers", [])
    seeded, calls = seed(app), []

    def relay_log(session, *, friend_id, line_user_id):
        calls.append((friend_id, line_user_id))
        return 3

    privacy.on_erase(relay_log)
    privacy.on_erase(relay_log)  # registering twice has no effect
    with session_scope(get_engine(app)) as s:
        counts = privacy.erase_friend(s, friend_id=seeded.friend_id, actor=SYSTEM)
    assert calls == [(seeded.friend_id, seeded.secrets["user_id"])] and counts["relay_log"] == 3
