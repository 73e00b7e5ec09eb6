"""Tag rules: friends with tag X get menu Y (first match wins), applied when tags change, in bulk calls."""

import pytest
import requests
from sqlmodel import select

from crm.config import SIMULATOR_DEFAULTS
from crm.db import get_engine, session_scope
from crm.friends.models import Friend
from crm.line.runtime import line_client
from crm.richmenus import rules as richmenu_rules
from crm.richmenus.jobs import apply_rich_menu_relinks, relink_round
from crm.richmenus.models import RichMenuLink, RichMenuRelink
from crm.tags import service as tags
from crm.tags.models import FriendTag
from crm.timeutil import utcnow
from tests.console_helpers import post_form, signed_in_client
from tests.factories import friend_id_of, make_tag
from tests.line_probe import FollowDuringLineCalls
from tests.richmenus.helpers import SYSTEM, menu_row, post_action, publish, ready_menu


@pytest.fixture
def line(sim, crm_server):
    return sim


@pytest.fixture
def admin(app):
    return signed_in_client(app, "admin", locale="en")


def follower(sim, name="Hanako") -> str:
    user_id = sim.create_user(name)
    assert sim.follow(user_id)["status"] == 200
    return user_id


def add_tag(admin, app, user_id: str, tag_id: int):
    friend_id = friend_id_of(app, user_id)
    assert (
        post_form(admin, f"/friends/{friend_id}/tags", {"tag_id": tag_id}, f"/friends/{friend_id}").status_code == 302
    )


def remove_tag(admin, app, user_id: str, tag_id: int):
    friend_id = friend_id_of(app, user_id)
    response = post_form(admin, f"/friends/{friend_id}/tags/{tag_id}/remove", {}, f"/friends/{friend_id}")
    assert response.status_code == 302


def shown(sim, user_id: str) -> tuple:
    menu = sim.rich_menu(user_id)
    return menu["richMenuId"], menu["source"]


def published(admin, name: str, default: bool = False) -> int:
    menu_id = ready_menu(admin, name=name)
    assert publish(admin, menu_id, default=default).status_code == 302
    return menu_id


def test_tagging_a_friend_in_the_console_shows_the_rules_menu_and_untagging_restores_the_default(app, line, admin):
    base, vip_menu = published(admin, "Base", default=True), published(admin, "VIP")
    vip = make_tag(app, "VIP")
    assert post_action(admin, "/richmenus/rules", tag=vip, menu=vip_menu).status_code == 302
    user_id = follower(line)
    assert shown(line, user_id) == (menu_row(app, base).line_menu_id, "default")
    add_tag(admin, app, user_id, vip)
    assert shown(line, user_id) == (menu_row(app, vip_menu).line_menu_id, "user")
    assert [entry["path"] for entry in line.requests_log(path="/richmenu/bulk")] == ["/v2/bot/richmenu/bulk/link"]
    assert line.requests_log(path="/v2/bot/user/U") == []  # no per-friend link calls
    remove_tag(admin, app, user_id, vip)
    assert shown(line, user_id) == (menu_row(app, base).line_menu_id, "default")
    with session_scope(get_engine(app)) as session:
        assert session.exec(select(RichMenuLink)).all() == []
        assert session.exec(select(RichMenuRelink)).all() == []


def test_the_first_matching_rule_wins_and_moving_a_rule_relinks(app, line, admin):
    gold_menu, member_menu = published(admin, "Gold"), published(admin, "Member")
    gold, member = make_tag(app, "Gold"), make_tag(app, "Member")
    post_action(admin, "/richmenus/rules", tag=gold, menu=gold_menu)
    post_action(admin, "/richmenus/rules", tag=member, menu=member_menu)
    both, only_member = follower(line, "Both"), follower(line, "Member")
    for user_id in (both, only_member):
        add_tag(admin, app, user_id, member)
    add_tag(admin, app, both, gold)
    gold_id, member_id = menu_row(app, gold_menu).line_menu_id, menu_row(app, member_menu).line_menu_id
    assert [shown(line, u)[0] for u in (both, only_member)] == [gold_id, member_id]
    [member_rule] = [rule for rule, tag, _menu in _rules(app) if tag.name == "Member"]
    post_action(admin, f"/richmenus/rules/{member_rule.id}/move", direction="up")
    assert [tag.name for _rule, tag, _menu in _rules(app)] == ["Member", "Gold"]
    assert [shown(line, u)[0] for u in (both, only_member)] == [member_id, member_id]
    post_action(admin, f"/richmenus/rules/{member_rule.id}/delete")
    assert shown(line, both)[0] == gold_id and shown(line, only_member) == (None, None)


def _rules(app):
    with session_scope(get_engine(app)) as session:
        return richmenu_rules.list_rules(session)


def test_a_rule_for_an_unpublished_menu_is_skipped_until_it_is_published(app, line, admin):
    draft = ready_menu(admin, name="Later")
    vip = make_tag(app, "VIP")
    post_action(admin, "/richmenus/rules", tag=vip, menu=draft)
    assert "(not published: skipped)" in admin.get("/richmenus/rules").get_data(as_text=True)
    user_id = follower(line)
    add_tag(admin, app, user_id, vip)
    assert shown(line, user_id) == (None, None)
    publish(admin, draft)
    assert shown(line, user_id) == (menu_row(app, draft).line_menu_id, "user")


def test_bulk_tagging_links_500_friends_per_call(app, sim, admin):
    vip_menu = published(admin, "VIP")
    vip = make_tag(app, "VIP")
    post_action(admin, "/richmenus/rules", tag=vip, menu=vip_menu)
    with session_scope(get_engine(app)) as session:
        friends = [Friend(line_user_id=f"U{index:032x}") for index in range(1201)]
        session.add_all(friends)
        session.flush()
        tags.add_tag_to_many(session, friend_ids=[friend.id for friend in friends], tag_id=vip, actor=SYSTEM)
        assert richmenu_rules.pending_count(session) == 1201
    result = relink_round(get_engine(app), line_client(app), limit=5000)
    assert (result.friends, result.linked, result.unlinked) == (1201, 1201, 0)
    calls = sim.requests_log(path="/v2/bot/richmenu/bulk/link")
    assert len(calls) == 3 and sim.requests_log(path="/v2/bot/user/U") == []
    linked = requests.get(
        f"{sim.base_url}/v2/bot/user/U{1200:032x}/richmenu",
        timeout=10,
        headers={"Authorization": f"Bearer {SIMULATOR_DEFAULTS['LINE_CHANNEL_ACCESS_TOKEN']}"},
    ).json()
    assert linked == {"richMenuId": menu_row(app, vip_menu).line_menu_id}
    with session_scope(get_engine(app)) as session:
        assert richmenu_rules.pending_count(session) == 0
        assert len(session.exec(select(RichMenuLink)).all()) == 1201


def test_tags_unrelated_to_rules_queue_nothing_and_call_nothing(app, sim, admin):
    vip_menu, other = published(admin, "VIP"), make_tag(app, "Other")
    post_action(admin, "/richmenus/rules", tag=make_tag(app, "VIP"), menu=vip_menu)
    with session_scope(get_engine(app)) as session:
        friend = Friend(line_user_id="U" + "b" * 32)
        session.add(friend)
        session.flush()
        tags.add_tag(session, friend_id=friend.id, tag_id=other, actor=SYSTEM)
        assert richmenu_rules.pending_count(session) == 0
    assert sim.requests_log(path="/bulk") == []


def test_a_line_failure_keeps_friends_queued_until_a_later_attempt(app, line, admin):
    vip_menu = published(admin, "VIP")
    vip = make_tag(app, "VIP")
    post_action(admin, "/richmenus/rules", tag=vip, menu=vip_menu)
    user_id = follower(line)
    line.set_fault("richmenu_bulk_link", status=500)
    add_tag(admin, app, user_id, vip)
    assert shown(line, user_id) == (None, None)
    with session_scope(get_engine(app)) as session:
        assert richmenu_rules.pending_count(session) == 1
    assert "1 friends are waiting for the tag rules to be applied." in admin.get("/richmenus").get_data(as_text=True)
    relink_round(get_engine(app), line_client(app))
    assert shown(line, user_id)[0] == menu_row(app, vip_menu).line_menu_id


def test_apply_to_everyone_fixes_friends_tagged_outside_the_services(app, line, admin):
    vip_menu = published(admin, "VIP")
    vip = make_tag(app, "VIP")
    post_action(admin, "/richmenus/rules", tag=vip, menu=vip_menu)
    user_id = follower(line)
    with session_scope(get_engine(app)) as session:  # e.g. an import that wrote tags directly
        session.add(FriendTag(friend_id=friend_id_of(app, user_id), tag_id=vip, added_at=utcnow(), added_by="import"))
    assert shown(line, user_id) == (None, None)
    response = post_action(admin, "/richmenus/rules/apply")
    assert response.status_code == 302
    assert shown(line, user_id)[0] == menu_row(app, vip_menu).line_menu_id


def test_the_tag_listener_is_told_about_real_changes_only(app, monkeypatch):
    calls = []
    monkeypatch.setattr(tags, "_listeners", [])

    def listener(session, **change):
        calls.append(change)

    assert tags.on_tags_changed(listener) is listener
    tags.on_tags_changed(listener)  # registering the same callback again has no effect
    tag_id = make_tag(app, "T")
    with session_scope(get_engine(app)) as session:
        friends = [Friend(line_user_id=f"U{index:032x}") for index in range(3)]
        session.add_all(friends)
        session.flush()
        ids = [friend.id for friend in friends]
        tags.add_tag(session, friend_id=ids[0], tag_id=tag_id, actor=SYSTEM)
        tags.add_tag(session, friend_id=ids[0], tag_id=tag_id, actor=SYSTEM)
        tags.add_tag_to_many(session, friend_ids=ids, tag_id=tag_id, actor=SYSTEM)
        tags.remove_tag(session, friend_id=ids[2], tag_id=tag_id, actor=SYSTEM)
        tags.remove_tag_from_many(session, friend_ids=[ids[2]], tag_id=tag_id)
    assert calls == [
        {"tag_id": tag_id, "friend_ids": [ids[0]], "added": True},
        {"tag_id": tag_id, "friend_ids": ids[1:], "added": True},
        {"tag_id": tag_id, "friend_ids": [ids[2]], "added": False},
    ]


def test_rules_refuse_a_second_rule_for_the_same_tag(app, admin):
    first, second = ready_menu(admin, name="One"), ready_menu(admin, name="Two")
    vip = make_tag(app, "VIP")
    post_action(admin, "/richmenus/rules", tag=vip, menu=first)
    response = post_action(admin, "/richmenus/rules", tag=vip, menu=second)
    assert response.status_code == 400
    assert "This tag already has a rule; delete that rule first." in response.get_data(as_text=True)


def test_deleting_a_tag_deletes_its_rule_and_unlinks_its_friends(app, line, admin):
    vip_menu = published(admin, "VIP")
    vip = make_tag(app, "VIP")
    post_action(admin, "/richmenus/rules", tag=vip, menu=vip_menu)
    user_id = follower(line)
    add_tag(admin, app, user_id, vip)
    assert shown(line, user_id)[1] == "user"
    response = post_form(admin, f"/tags/{vip}/delete", {"confirm": "y"}, f"/tags/{vip}/delete")
    assert response.status_code == 302
    assert shown(line, user_id) == (None, None)
    assert _rules(app) == []


def test_the_relink_job_calls_line_with_the_database_free(app, line, admin):
    vip_menu, gold_menu = published(admin, "VIP"), published(admin, "Gold")
    vip, gold = make_tag(app, "VIP"), make_tag(app, "Gold")
    post_action(admin, "/richmenus/rules", tag=vip, menu=vip_menu)
    post_action(admin, "/richmenus/rules", tag=gold, menu=gold_menu)
    hanako, taro = follower(line, "Hanako"), follower(line, "Taro")
    with session_scope(get_engine(app)) as session:  # tagged by a job: queued, applied by the worker
        tags.add_tag(session, friend_id=friend_id_of(app, hanako), tag_id=vip, actor=SYSTEM)
        tags.add_tag(session, friend_id=friend_id_of(app, taro), tag_id=gold, actor=SYSTEM)
    probe = FollowDuringLineCalls(app, line, client=line_client(app))
    assert apply_rich_menu_relinks(get_engine(app), probe) == 2
    assert probe.statuses == [200, 200] and probe.stored == [True, True]
    assert shown(line, hanako)[0] == menu_row(app, vip_menu).line_menu_id
    assert shown(line, taro)[0] == menu_row(app, gold_menu).line_menu_id
    with session_scope(get_engine(app)) as session:
        assert richmenu_rules.pending_count(session) == 0
        assert len(session.exec(select(RichMenuLink)).all()) == 2
