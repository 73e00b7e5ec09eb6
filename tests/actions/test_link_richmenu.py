"""The link_richmenu kind: the friend is queued for the menu, the relink job links them on LINE (bulk call,
outside the action's transaction); an unpublished menu is skipped."""

from __future__ import annotations

from sqlmodel import select

from crm.actions.engine import describe_action
from crm.actions.models import ActionState
from crm.db import get_engine, session_scope
from crm.line.runtime import line_client
from crm.richmenus.jobs import apply_rich_menu_relinks
from crm.richmenus.models import RichMenuLink, RichMenuRelink
from tests.actions.helpers import run
from tests.console_helpers import signed_in_client
from tests.factories import friend_id_of
from tests.richmenus.helpers import menu_row, publish, ready_menu
from tests.richmenus.test_rules import follower, shown


def test_an_action_shows_a_published_menu_through_the_relink_queue(app, sim, crm_server):
    admin = signed_in_client(app, "admin", locale="en")
    menu_id = ready_menu(admin, name="会員メニュー")
    draft_id = ready_menu(admin, name="下書き")
    assert publish(admin, menu_id).status_code == 302
    user_id = follower(sim)
    friend_id = friend_id_of(app, user_id)
    outcome = run(
        app, friend_id, [{"type": "link_richmenu", "menu_id": draft_id}, {"type": "link_richmenu", "menu_id": menu_id}]
    )
    assert [state for _, state, _ in outcome] == [ActionState.SKIPPED, ActionState.DONE]
    assert sim.requests_log(path="/richmenu/bulk") == []  # nothing called LINE in the action's transaction
    assert apply_rich_menu_relinks(get_engine(app), line_client(app)) == 1
    assert shown(sim, user_id) == (menu_row(app, menu_id).line_menu_id, "user")
    with session_scope(get_engine(app)) as session:
        assert [link.rich_menu_id for link in session.exec(select(RichMenuLink))] == [menu_id]
        assert session.exec(select(RichMenuRelink)).all() == []
    with app.test_request_context(), session_scope(get_engine(app)) as session:
        assert (
            describe_action(session, {"type": "link_richmenu", "menu_id": menu_id})
            == "リッチメニュー「会員メニュー」を表示する"
        )
