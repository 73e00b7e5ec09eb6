"""Rich-menu areas and template buttons that run actions: a tap through the LINE simulator runs the stored
actions once (a redelivered event runs nothing), forged or stale references do nothing, taps are counted."""

import json
import logging
import re

import pytest

from crm.db import get_engine, session_scope
from crm.message_templates.models import MessageTemplate
from crm.postback_actions.signing import postback_data
from tests.console_helpers import csrf_token, signed_in_client
from tests.factories import friend_id_of, make_tag, make_template
from tests.postback_actions.helpers import (
    action_fields,
    attention_of,
    audit_entries,
    lists,
    menu_with_actions,
    runs,
    tap_count,
)
from tests.richmenus.helpers import menu_row, new_menu, post_action, publish, save_menu
from tests.surveys.helpers import bot_messages, tag_names

SECRET = "test-secret-key"  # testing_config's SECRET_KEY


@pytest.fixture
def line(sim, crm_server):
    return sim


@pytest.fixture
def admin(app):
    return signed_in_client(app, "admin", locale="en")


def test_a_rich_menu_tap_runs_the_actions_once_even_when_line_redelivers(app, line, admin):
    vip = make_tag(app, "VIP")
    welcome = make_template(app, [{"type": "text", "text": "ご来店ありがとうございます"}], name="お礼")
    actions = [
        {"type": "add_tag", "tag_id": vip},
        {"type": "mark_attention", "state": "needed"},
        {"type": "send_template", "template_id": welcome},
    ]
    menu_id = menu_with_actions(admin, actions, display_text="クーポンを見る")
    [stored] = lists(app)
    assert (stored.owner_type, stored.owner_id, stored.place) == ("richmenu", menu_id, "1")
    area = json.loads(menu_row(app, menu_id).areas)[0]["action"]
    assert area == {
        "kind": "actions",
        "value": postback_data(stored.id, SECRET),
        "label": "",
        "display_text": "クーポンを見る",
    }
    assert publish(admin, menu_id, default=True).status_code == 302

    user = line.create_user("花子")
    line.follow(user)
    friend = friend_id_of(app, user)
    result = line.tap_rich_menu(user, 0)
    assert result["status"] == 200
    assert result["event"]["postback"]["data"] == postback_data(stored.id, SECRET)
    assert tag_names(app, friend) == {"VIP"}
    assert attention_of(app, friend) == "needed"
    assert [m["text"] for m in bot_messages(line, user)] == ["ご来店ありがとうございます"]
    assert [(run.kind, run.state, run.source) for run in runs(app, friend)] == [
        ("add_tag", "done", f"button:{stored.id}"),
        ("mark_attention", "done", f"button:{stored.id}"),
        ("send_template", "done", f"button:{stored.id}"),
    ]

    assert line.redeliver(result["event"]["webhookEventId"])["status"] == 200
    assert len(runs(app, friend)) == 3 and tap_count(app) == 1
    assert len(bot_messages(line, user)) == 1

    line.tap_rich_menu(user, 0)  # a second tap is a new trigger: the tag and mark are already there
    assert tap_count(app) == 2
    assert [run.state for run in runs(app, friend)][3:5] == ["skipped", "skipped"]

    page = admin.get(f"/richmenus/{menu_id}").get_data(as_text=True)
    taps = re.search(r'<table class="rm-action-taps">.*?</table>', page, re.S).group(0)
    assert "Add tag “VIP”" in taps
    assert re.search(r"<td>1</td><td>[^<]*</td><td>2</td><td>2</td><td>2</td>", taps)
    history = admin.get(f"/friends/{friend}").get_data(as_text=True)
    assert "Rich menu “Main”, area 1" in history


def test_forged_tampered_and_stale_references_do_nothing(app, line, admin, caplog):
    vip = make_tag(app, "VIP")
    menu_id = menu_with_actions(admin, [{"type": "add_tag", "tag_id": vip}])
    [stored] = lists(app)
    user = line.create_user("太郎")
    line.follow(user)
    friend = friend_id_of(app, user)
    good = postback_data(stored.id, SECRET)
    caplog.set_level(logging.INFO, logger="crm.postback_actions")
    for forged in (
        postback_data(stored.id, "someone-elses-secret"),
        good[:-2] + ("AA" if not good.endswith("AA") else "BB"),
        good.replace(f"pa:{stored.id}.", f"pa:{stored.id + 1}."),
        f"pa:{stored.id}",
    ):
        assert line.postback(user, forged)["status"] == 200
    assert runs(app, friend) == [] and tap_count(app) == 0 and tag_names(app, friend) == set()
    assert caplog.text.count("postback_actions_refused reason=bad_signature") == 4

    assert post_action(admin, f"/richmenus/{menu_id}/delete", menu_id, confirm="y").status_code == 302
    assert lists(app) == []
    assert line.postback(user, good)["status"] == 200  # a list that no longer exists
    assert runs(app, friend) == [] and tag_names(app, friend) == set()
    assert "postback_actions_refused reason=unknown_list" in caplog.text

    assert line.postback(user, "pa:")["status"] == 200
    assert runs(app, friend) == []


def test_an_area_set_to_run_actions_needs_some(app, admin):
    menu_id = new_menu(admin)
    areas = {"areas-0-kind": "actions", "areas-1-kind": "message", "areas-1-value": "hi"}
    response = save_menu(admin, menu_id, **areas)
    assert response.status_code == 400
    assert "Area 1: choose at least one action to run." in response.get_data(as_text=True)
    response = save_menu(
        admin,
        menu_id,
        **areas,
        **action_fields("areas-0-actions", [{"type": "add_tag", "tag_id": 999}]),
    )
    assert response.status_code == 400
    assert "Area 1: Action 1: that tag no longer exists." in response.get_data(as_text=True)
    assert lists(app) == []


def test_saving_again_keeps_the_areas_list_and_its_reference(app, admin):
    vip, regular = make_tag(app, "VIP"), make_tag(app, "常連")
    menu_id = menu_with_actions(admin, [{"type": "add_tag", "tag_id": vip}])
    [first] = lists(app)
    page = admin.get(f"/richmenus/{menu_id}").get_data(as_text=True)
    assert 'name="areas-0-actions-0-add_tag-tag_id"' in page
    response = save_menu(admin, menu_id, **action_fields("areas-0-actions", [{"type": "add_tag", "tag_id": regular}]))
    assert response.status_code == 302
    [again] = lists(app)
    assert again.id == first.id and json.loads(again.actions) == [{"type": "add_tag", "tag_id": regular}]
    assert "Menu saved." in admin.get(f"/richmenus/{menu_id}").get_data(as_text=True)
    assert save_menu(admin, menu_id).status_code == 302  # the same actions again: nothing changed
    assert "Nothing changed." in admin.get(f"/richmenus/{menu_id}").get_data(as_text=True)
    entries = audit_entries(app, "richmenu.area_actions")
    assert [(e.target_id, json.loads(e.after)["actions"]) for e in entries] == [
        (str(menu_id), [{"type": "add_tag", "tag_id": vip}]),
        (str(menu_id), [{"type": "add_tag", "tag_id": regular}]),
    ]
    assert json.loads(menu_row(app, menu_id).areas)[0]["action"]["value"] == postback_data(first.id, SECRET)


def _template_form(**fields) -> dict:
    return {
        "name": "クーポン案内",
        "messages-0-kind": "buttons",
        "messages-0-alt_text": "クーポン",
        "messages-0-cards-0-title": "クーポン",
        "messages-0-cards-0-text": "タップしてください",
        "messages-0-cards-0-actions-0-kind": "actions",
        "messages-0-cards-0-actions-0-label": "受け取る",
        "messages-0-cards-0-actions-0-display_text": "受け取ります",
        **fields,
    }


def test_a_template_button_runs_its_actions_and_counts_taps(app, line, admin):
    vip = make_tag(app, "VIP")
    token = csrf_token(admin, "/templates/new")
    response = admin.post(
        "/templates/new",
        data={
            "csrf_token": token,
            **_template_form(),
            **action_fields("messages-0-cards-0-actions-0-steps", [{"type": "add_tag", "tag_id": vip}]),
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    template_id = int(response.headers["Location"].rsplit("/", 1)[1])
    [stored] = lists(app)
    assert (stored.owner_type, stored.owner_id, stored.place) == ("template", template_id, "1-1-1")
    with session_scope(get_engine(app)) as session:
        button = json.loads(session.get(MessageTemplate, template_id).messages)[0]["template"]["actions"][0]
    assert button == {
        "type": "postback",
        "label": "受け取る",
        "data": postback_data(stored.id, SECRET),
        "displayText": "受け取ります",
    }

    [entry] = audit_entries(app, "template.button_actions")
    assert json.loads(entry.after) == {
        "button": "1-1-1",
        "list_id": stored.id,
        "actions": [{"type": "add_tag", "tag_id": vip}],
    }

    user = line.create_user("花子")
    line.follow(user)
    friend = friend_id_of(app, user)
    assert line.tap_action(user, button)["status"] == 200
    assert tag_names(app, friend) == {"VIP"}

    page = admin.get(f"/templates/{template_id}").get_data(as_text=True)
    assert "Taps: today 1, 7 days 1, total 1" in page
    assert 'name="messages-0-cards-0-actions-0-steps-0-add_tag-tag_id"' in page
    assert "Template “クーポン案内”, button 1-1-1" in admin.get(f"/friends/{friend}").get_data(as_text=True)


def test_a_template_button_without_actions_is_refused_and_commands_keep_the_rows(app, admin):
    vip = make_tag(app, "VIP")
    token = csrf_token(admin, "/templates/new")
    response = admin.post("/templates/new", data={"csrf_token": token, **_template_form()})
    assert response.status_code == 422
    assert "Button 1-1-1: choose at least one action to run." in response.get_data(as_text=True)
    rows = action_fields("messages-0-cards-0-actions-0-steps", [{"type": "add_tag", "tag_id": vip}])
    response = admin.post(
        "/templates/new", data={"csrf_token": token, **_template_form(), **rows, "command": "add_action:0-0"}
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert re.search(rf'<option value="{vip}" selected>VIP</option>', page)
    assert 'name="messages-0-cards-0-actions-1-kind"' in page
    assert lists(app) == []


def test_tap_counts_split_today_in_tokyo_the_last_7_days_and_all(app):
    from datetime import UTC, datetime

    from crm.postback_actions import service
    from tests.factories import make_friend

    friend = make_friend(app)
    now = datetime(2026, 12, 7, 16, 30, tzinfo=UTC)  # 01:30 on the 8th in Tokyo
    with session_scope(get_engine(app)) as session:
        row, _changed = service.save_list(session, owner_type="richmenu", owner_id=None, place="1", actions=[])
        other, _changed = service.save_list(session, owner_type="richmenu", owner_id=None, place="2", actions=[])
        for key, at in {
            "a": datetime(2026, 12, 7, 15, 10, tzinfo=UTC),  # 00:10 Tokyo today
            "b": datetime(2026, 12, 7, 14, 50, tzinfo=UTC),  # 23:50 Tokyo yesterday
            "c": datetime(2026, 12, 1, 17, 0, tzinfo=UTC),  # within 7 days
            "d": datetime(2026, 11, 30, 16, 0, tzinfo=UTC),  # 7 days and 30 minutes ago
        }.items():
            assert service.record_tap(session, list_id=row.id, friend_id=friend, event_key=key, at=at)
        assert not service.record_tap(session, list_id=row.id, friend_id=friend, event_key="a", at=now)
        counts = service.tap_counts(session, [row.id, other.id], now=now)
    assert counts == {row.id: service.TapCount(today=1, week=3, total=4)}
