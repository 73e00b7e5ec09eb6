"""The staff attention mark (対応マーク): one click on the friend page, in bulk from the list, by an action and
through the API; every change audited and in the friend's history; the list filters on it, home counts it,
segments select by it."""

import re

import pytest
from sqlmodel import select

from crm.actions.engine import run_actions
from crm.actions.models import ActionRun
from crm.db import get_engine, session_scope
from crm.friends.models import Friend
from crm.segments import service as segments
from crm.segments.tree import SegmentError, validate
from crm.staff.models import AuditEntry
from crm.timeutil import utcnow
from tests.api.helpers import api_client
from tests.console_helpers import csrf_token, signed_in_client
from tests.factories import make_friend, make_friends

CONFIRM_TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def attention_of(app, friend_id: int) -> str | None:
    with session_scope(get_engine(app)) as session:
        return session.get(Friend, friend_id).attention


def audits(app, action: str) -> list[AuditEntry]:
    with session_scope(get_engine(app)) as session:
        return list(session.exec(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


def history(app, friend_id: int) -> list[tuple[str, str, str]]:
    with session_scope(get_engine(app)) as session:
        runs = session.exec(select(ActionRun).where(ActionRun.friend_id == friend_id).order_by(ActionRun.id))
        return [(run.params, run.source, run.state) for run in runs]


def set_on_page(client, friend_id: int, state: str):
    token = csrf_token(client, f"/friends/{friend_id}")
    return client.post(f"/friends/{friend_id}/attention", data={"csrf_token": token, "attention": state})


def test_staff_set_and_clear_the_mark_in_one_click(app):
    friend = make_friend(app, display_name="佐藤")
    staff = signed_in_client(app, "staff", locale="en")
    page = staff.get(f"/friends/{friend}").get_data(as_text=True)
    assert 'data-attention="none"' in page and 'name="attention" value="needed"' in page

    response = set_on_page(staff, friend, "needed")
    assert response.status_code == 302 and response.headers["Location"].endswith("#attention")
    assert attention_of(app, friend) == "needed"
    page = staff.get(f"/friends/{friend}").get_data(as_text=True)
    assert 'data-attention="needed"' in page and "Attention mark: Needs attention" in page
    assert "Mark as needing attention" in page  # the history card, sourced by the staff member
    assert set_on_page(staff, friend, "needed").status_code == 302  # the same mark again changes nothing
    assert set_on_page(staff, friend, "none").status_code == 302
    assert attention_of(app, friend) is None

    entries = audits(app, "friend.attention")
    assert [(e.actor, e.target_id, e.before, e.after) for e in entries] == [
        ("staff:staff@example.com", str(friend), '{"attention": null}', '{"attention": "needed"}'),
        ("staff:staff@example.com", str(friend), '{"attention": "needed"}', '{"attention": null}'),
    ]
    [(params_1, source, state), (params_2, _source, _state)] = history(app, friend)
    assert (params_1, params_2, state) == ('{"state": "needed"}', '{"state": "none"}', "done")
    assert re.fullmatch(r"staff:\d+", source)
    assert "Staff" in staff.get(f"/friends/{friend}").get_data(as_text=True)  # the source said by name


def test_a_bad_mark_or_a_role_without_edits_changes_nothing(app):
    friend = make_friend(app)
    assert set_on_page(signed_in_client(app, "staff", locale="en"), friend, "urgent").status_code == 400
    assert set_on_page(signed_in_client(app, "analyst", locale="en"), friend, "needed").status_code == 403
    assert attention_of(app, friend) is None and audits(app, "friend.attention") == []


def test_bulk_marks_the_ticked_friends_with_one_audit_entry(app):
    ids = make_friends(app, [{"display_name": f"客{i}"} for i in range(3)])
    staff = signed_in_client(app, "staff", locale="en")
    args = f"action=attention&mark=in_progress&scope=selected&friend={ids[0]}&friend={ids[1]}"
    page = staff.get(f"/friends/bulk?{args}").get_data(as_text=True)
    assert "Set the attention mark “Being handled” on 2 friends?" in page
    assert [attention_of(app, i) for i in ids] == [None, None, None]
    token = CONFIRM_TOKEN.search(page).group(1)
    response = staff.post(
        "/friends/bulk",
        data={
            "action": "attention",
            "mark": "in_progress",
            "tag": "",
            "scope": "selected",
            "friend": [ids[0], ids[1]],
            "csrf_token": token,
        },
    )
    assert response.status_code == 302
    assert [attention_of(app, i) for i in ids] == ["in_progress", "in_progress", None]
    [entry] = audits(app, "friends.bulk_attention")
    assert '"changed": 2' in entry.after and '"attention": "in_progress"' in entry.after
    assert [params for params, _s, _st in history(app, ids[0])] == ['{"state": "in_progress"}']
    assert history(app, ids[2]) == []


def test_the_list_filters_on_the_mark_shows_a_badge_and_home_counts_it(app):
    needed, handled, plain = make_friends(
        app,
        [
            {"display_name": "要さん", "attention": "needed"},
            {"display_name": "済さん", "attention": "done"},
            {"display_name": "無さん"},
        ],
    )
    staff = signed_in_client(app, "staff", locale="en")
    page = staff.get("/friends?attention=needed").get_data(as_text=True)
    assert f'data-friend="{needed}"' in page and f'data-friend="{handled}"' not in page
    assert 'class="attention-badge attention-needed"' in page
    page = staff.get("/friends?attention=none").get_data(as_text=True)
    assert f'data-friend="{plain}"' in page and f'data-friend="{needed}"' not in page
    assert "Not a valid choice" in staff.get("/friends?attention=urgent").get_data(as_text=True)
    home = staff.get("/").get_data(as_text=True)
    assert re.search(r'data-figure="attention_needed"><a href="/friends\?attention=needed">1</a>', home)


def test_an_action_sets_and_clears_the_mark_with_the_audit_in_its_source_name(app):
    friend = make_friend(app)
    with app.app_context(), session_scope(get_engine(app)) as session:
        run_actions(
            session,
            friend_id=friend,
            actions=[{"type": "mark_attention", "state": "needed"}],
            trigger_key="test:1",
            source="link:1",
        )
    assert attention_of(app, friend) == "needed"
    with app.app_context(), session_scope(get_engine(app)) as session:
        [run] = run_actions(
            session,
            friend_id=friend,
            actions=[{"type": "mark_attention", "state": "none"}],
            trigger_key="test:2",
            source="link:1",
        )
        assert run.state == "done"
    assert attention_of(app, friend) is None
    assert [e.actor for e in audits(app, "friend.attention")] == ["link:1", "link:1"]
    assert len(history(app, friend)) == 2  # the runs themselves, no second entry


def test_the_api_shows_filters_and_sets_the_mark(app):
    friend, other = make_friends(app, [{"display_name": "A"}, {"display_name": "B", "attention": "needed"}])
    api = api_client(app, "staff")
    assert api.get(f"/api/v1/friends/{friend}").get_json()["attention"] is None
    response = api.put(f"/api/v1/friends/{friend}/attention", json={"attention": "done"})
    assert response.status_code == 200 and response.get_json() == {"changed": True}
    assert api.put(f"/api/v1/friends/{friend}/attention", json={"attention": "done"}).get_json() == {"changed": False}
    assert api.get(f"/api/v1/friends/{friend}").get_json()["attention"] == "done"
    listed = api.get("/api/v1/friends?attention=needed").get_json()["data"]
    assert [row["id"] for row in listed] == [other]
    assert api.put(f"/api/v1/friends/{friend}/attention", json={"attention": "urgent"}).status_code == 422
    assert api.put(f"/api/v1/friends/{friend}/attention", json={"attention": None}).get_json() == {"changed": True}
    assert attention_of(app, friend) is None
    assert [e.actor.startswith("api:") for e in audits(app, "friend.attention")] == [True, True]
    analyst = api_client(app, "analyst")
    assert analyst.put(f"/api/v1/friends/{friend}/attention", json={"attention": "done"}).status_code == 403


def test_a_segment_selects_friends_by_their_mark(app):
    needed, plain = make_friends(app, [{"display_name": "A", "attention": "needed"}, {"display_name": "B"}])
    with session_scope(get_engine(app)) as session:
        for value, expected in (("needed", {needed}), ("none", {plain}), ("done", set())):
            tree = {"type": "all", "conditions": [{"type": "attention", "value": value}]}
            assert set(session.exec(segments.friend_ids(session, tree, now=utcnow())).scalars()) == expected
        with pytest.raises(SegmentError):
            validate(session, {"type": "all", "conditions": [{"type": "attention", "value": "urgent"}]})
