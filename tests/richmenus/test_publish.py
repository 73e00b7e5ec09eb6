"""Publishing through the real LINE simulator: the default menu, republishing, unpublishing, tabs, limits."""

import re
from datetime import timedelta

import pytest
import requests
from sqlmodel import select

from crm.config import SIMULATOR_DEFAULTS
from crm.db import get_engine, session_scope
from crm.friends.models import Message
from crm.richmenus.models import RichMenuApiCall, RichMenuLink
from crm.staff.models import AuditEntry
from crm.timeutil import TOKYO, utcnow
from crm.tracking.models import LinkClick
from tests.console_helpers import post_form, signed_in_client
from tests.factories import friend_id_of, make_tag
from tests.richmenus.helpers import (
    FULL,
    image_bytes,
    menu_row,
    new_menu,
    post_action,
    publish,
    ready_menu,
    set_actions,
    upload,
)


@pytest.fixture
def line(sim, crm_server):
    """The simulator, posting its webhooks to the CRM served over HTTP."""
    return sim


@pytest.fixture
def editor(app):
    return signed_in_client(app, "editor", locale="en")


def page(client, menu_id: int) -> str:
    return client.get(f"/richmenus/{menu_id}").get_data(as_text=True)


def sim_list(sim) -> list[str]:
    """The rich menu IDs that exist on (simulated) LINE, read through its Messaging API."""
    response = requests.get(
        f"{sim.base_url}/v2/bot/richmenu/list",
        timeout=10,
        headers={"Authorization": f"Bearer {SIMULATOR_DEFAULTS['LINE_CHANNEL_ACCESS_TOKEN']}"},
    )
    return [menu["richMenuId"] for menu in response.json()["richmenus"]]


def follower(sim, name="Hanako") -> str:
    user_id = sim.create_user(name)
    assert sim.follow(user_id)["status"] == 200
    return user_id


def tag_friend(admin, friend_id: int, tag_id: int):
    response = post_form(admin, f"/friends/{friend_id}/tags", {"tag_id": tag_id}, f"/friends/{friend_id}")
    assert response.status_code == 302


def test_a_published_default_menu_is_what_a_new_friend_sees_and_taps(app, line, editor, crm_server):
    menu_id = ready_menu(editor, actions=[("message", "hello"), ("uri", "https://example.com/shop")])
    response = publish(editor, menu_id, default=True)
    assert response.status_code == 302
    assert "Published on LINE." in page(editor, menu_id)
    menu = menu_row(app, menu_id)
    assert (menu.status, menu.is_default, menu.published_revision) == ("published", True, menu.revision)
    user_id = follower(line)
    shown = line.rich_menu(user_id)
    assert (shown["richMenuId"], shown["source"], shown["hasImage"]) == (menu.line_menu_id, "default", True)
    assert shown["richMenu"]["chatBarText"] == "メニュー" and shown["richMenu"]["size"] == {
        "width": 2500,
        "height": 1686,
    }
    message_area, url_area = (area["action"] for area in shown["richMenu"]["areas"])
    assert message_area == {"type": "message", "text": "hello"}
    tracked = re.fullmatch(re.escape(app.config["PUBLIC_BASE_URL"]) + r"/r/([A-Za-z0-9_-]{22})", url_area["uri"])
    assert url_area["type"] == "uri" and tracked, url_area
    assert line.tap_rich_menu(user_id, 0)["status"] == 200
    assert line.tap_rich_menu(user_id, 1)["uri"] == url_area["uri"]
    with session_scope(get_engine(app)) as session:
        texts = session.exec(select(Message.text).where(Message.friend_id == friend_id_of(app, user_id))).all()
    assert texts == ["hello"]
    for _ in range(2):  # what the phone does with the tapped address: the CRM counts it and redirects
        opened = requests.get(f"{crm_server.url}/r/{tracked.group(1)}", allow_redirects=False, timeout=5)
        assert (opened.status_code, opened.headers["Location"]) == (302, "https://example.com/shop")
    with session_scope(get_engine(app)) as session:
        assert [click.friend_id for click in session.exec(select(LinkClick))] == [None, None]
    html = page(editor, menu_id)
    assert "Taps on URL areas" in html and "<td>https://example.com/shop</td><td>2</td>" in html


def test_nothing_goes_to_line_until_the_menu_is_complete(app, sim, editor):
    menu_id = new_menu(editor, layout="cols3")
    set_actions(editor, menu_id, [("message", "a")])
    response = publish(editor, menu_id)
    assert response.status_code == 302
    html = page(editor, menu_id)
    for problem in ("Upload the menu&#39;s image first.", "Area 2 has no action yet.", "Area 3 has no action yet."):
        assert html.count(problem) == 2  # flashed by the refused publish, and listed under "Before publishing"
    assert sim.requests_log(path="/v2/bot/richmenu") == []
    assert menu_row(app, menu_id).status == "draft"


def test_republishing_creates_a_new_menu_relinks_then_deletes_the_old_one(app, line, editor):
    admin = signed_in_client(app, "admin", locale="en")
    menu_id = ready_menu(editor)
    assert publish(editor, menu_id, default=True).status_code == 302
    vip = make_tag(app, "VIP")
    post_action(admin, "/richmenus/rules", tag=vip, menu=menu_id)
    user_id = follower(line)
    tag_friend(admin, friend_id_of(app, user_id), vip)
    old_id = menu_row(app, menu_id).line_menu_id
    assert line.rich_menu(user_id)["source"] == "user"
    set_actions(editor, menu_id, [("message", "changed"), ("uri", "https://example.com/")])
    assert "The draft has changes that are not on LINE yet." in page(editor, menu_id)
    first_call = len(line.requests_log())
    assert publish(editor, menu_id).status_code == 302
    new_id = menu_row(app, menu_id).line_menu_id
    assert new_id != old_id and sim_list(line) == [new_id]
    shown = line.rich_menu(user_id)
    assert (shown["richMenuId"], shown["source"]) == (new_id, "user")
    assert shown["richMenu"]["areas"][0]["action"]["text"] == "changed"
    assert line.rich_menu(follower(line, "Taro"))["richMenuId"] == new_id  # still the default
    calls = [
        (entry["method"], entry["path"])
        for entry in line.requests_log()[first_call:]
        if entry["path"] != "/v2/bot/richmenu/list"
    ]
    assert calls == [
        ("POST", "/v2/bot/richmenu"),
        ("POST", f"/v2/bot/richmenu/{new_id}/content"),
        ("POST", f"/v2/bot/user/all/richmenu/{new_id}"),
        ("POST", "/v2/bot/richmenu/bulk/link"),
        ("DELETE", f"/v2/bot/richmenu/{old_id}"),
    ]
    with session_scope(get_engine(app)) as session:
        assert session.exec(select(RichMenuLink.line_menu_id)).all() == [new_id]


def test_unpublish_unlinks_everyone_the_crm_linked_and_deletes_the_menu(app, line, editor):
    admin = signed_in_client(app, "admin", locale="en")
    base = ready_menu(editor, name="Base")
    special = ready_menu(editor, name="Special")
    publish(editor, base, default=True)
    publish(editor, special)
    vip = make_tag(app, "VIP")
    post_action(admin, "/richmenus/rules", tag=vip, menu=special)
    users = [follower(line, name) for name in ("A", "B")]
    for user_id in users:
        tag_friend(admin, friend_id_of(app, user_id), vip)
    special_line_id = menu_row(app, special).line_menu_id
    assert {line.rich_menu(u)["richMenuId"] for u in users} == {special_line_id}
    response = post_action(editor, f"/richmenus/{special}/unpublish", special)
    assert response.status_code == 302
    assert "Unpublished. 2 friends no longer see it." in page(editor, special)
    base_line_id = menu_row(app, base).line_menu_id
    assert [(line.rich_menu(u)["richMenuId"], line.rich_menu(u)["source"]) for u in users] == [
        (base_line_id, "default")
    ] * 2
    assert sim_list(line) == [base_line_id]
    assert menu_row(app, special).status == "draft" and menu_row(app, special).line_menu_id is None
    with session_scope(get_engine(app)) as session:
        assert session.exec(select(RichMenuLink)).all() == []
    assert [e["path"] for e in line.requests_log(path="/bulk/unlink")] == ["/v2/bot/richmenu/bulk/unlink"]


def test_tabs_switch_between_published_menus(app, line, editor):
    first = new_menu(editor, name="Tab A", size="half")
    second = new_menu(editor, name="Tab B", size="half")
    set_actions(editor, first, [("message", "a")], alias_id="tab-a")
    set_actions(editor, second, [("switch", "tab-a"), ("message", "b")], alias_id="tab-b")
    set_actions(editor, first, [("message", "a"), ("switch", "tab-b")])
    for menu_id in (first, second):
        upload(editor, menu_id, image_bytes((2500, 843)))
    publish(editor, first, default=True)
    assert "Area 2 switches to the tab “tab-b”, whose menu is not published yet; the tab works once it is." in page(
        editor, first
    )
    publish(editor, second)
    assert "whose menu is not published yet" not in page(editor, second)
    user_id = follower(line)
    assert line.tap_rich_menu(user_id, 1)["status"] == 200
    assert line.rich_menu(user_id)["richMenuId"] == menu_row(app, second).line_menu_id
    line.tap_rich_menu(user_id, 0)
    assert line.rich_menu(user_id)["richMenuId"] == menu_row(app, first).line_menu_id


def test_the_hourly_limit_is_counted_before_calling_line(app, sim, editor):
    menu_id = ready_menu(editor)
    now = utcnow()
    with session_scope(get_engine(app)) as session:
        session.add_all(
            [RichMenuApiCall(endpoint="create", at=now - timedelta(minutes=59 - i % 50)) for i in range(100)]
        )
        session.add_all([RichMenuApiCall(endpoint="create", at=now - timedelta(minutes=61)) for _ in range(50)])
    publish(editor, menu_id)
    html = page(editor, menu_id)
    assert "LINE allows only 100 rich menus to be created, and 100 deleted, per hour" in html
    retry_at = (now + timedelta(minutes=1)).astimezone(TOKYO)  # the oldest call in the hour, plus an hour
    assert f"Try again after {retry_at:%H:%M}." in html
    assert sim.requests_log(path="/v2/bot/richmenu") == []
    assert menu_row(app, menu_id).status == "draft"


def test_lines_own_429_gives_the_same_clear_message(app, sim, editor):
    menu_id = ready_menu(editor)
    sim.set_fault("richmenu_create", status=429)
    publish(editor, menu_id)
    assert "LINE says this hour&#39;s share is used up. Try again later." in page(editor, menu_id)
    assert menu_row(app, menu_id).status == "draft"
    with session_scope(get_engine(app)) as session:
        assert session.exec(select(RichMenuApiCall.endpoint)).all() == ["create"]


def test_a_failed_republish_leaves_the_old_menu_live_and_removes_the_new_one(app, line, editor):
    admin = signed_in_client(app, "admin", locale="en")
    menu_id = ready_menu(editor)
    publish(editor, menu_id, default=True)
    vip = make_tag(app, "VIP")
    post_action(admin, "/richmenus/rules", tag=vip, menu=menu_id)
    user_id = follower(line)
    tag_friend(admin, friend_id_of(app, user_id), vip)
    old_id = menu_row(app, menu_id).line_menu_id
    set_actions(editor, menu_id, [("message", "v2"), ("uri", "https://example.com/")])
    line.set_fault("richmenu_bulk_link", status=500)
    publish(editor, menu_id)
    assert "LINE refused the request: Internal server error" in page(editor, menu_id)
    assert sim_list(line) == [old_id]
    assert line.rich_menu(user_id)["richMenuId"] == old_id
    assert line.rich_menu(follower(line, "New"))["richMenuId"] == old_id
    assert menu_row(app, menu_id).line_menu_id == old_id
    with session_scope(get_engine(app)) as session:
        assert session.exec(select(AuditEntry).where(AuditEntry.action == "richmenu.publish_failed")).one()


def test_an_image_refused_by_line_leaves_no_menu_behind(app, sim, editor):
    menu_id = ready_menu(editor, image=image_bytes(FULL))
    sim.set_fault("richmenu_image_upload", status=400)
    publish(editor, menu_id)
    assert "LINE refused the request" in page(editor, menu_id)
    assert sim_list(sim) == []
    assert menu_row(app, menu_id).status == "draft"


def test_a_failed_publish_as_default_gives_the_default_back_to_the_previous_menu(app, line, editor):
    base = ready_menu(editor, name="Base")
    publish(editor, base, default=True)
    campaign = ready_menu(editor, name="Campaign")
    set_actions(editor, campaign, [("message", "a"), ("message", "b")], alias_id="campaign")
    line.set_fault("richmenu_alias_create", status=500)
    publish(editor, campaign, default=True)
    assert "LINE refused the request" in page(editor, campaign)
    base_line_id = menu_row(app, base).line_menu_id
    assert line.rich_menu(follower(line))["richMenuId"] == base_line_id
    assert sim_list(line) == [base_line_id]
    assert (menu_row(app, base).is_default, menu_row(app, campaign).status) == (True, "draft")
