"""Who may build and publish rich menus: editor, marketer and admin; staff and analyst get 403."""

import pytest

from crm.db import get_engine, session_scope
from crm.richmenus import drafts as richmenus
from crm.richmenus.drafts import MenuSpec
from tests.console_helpers import csrf_token, signed_in_client
from tests.richmenus.helpers import SYSTEM, image_bytes

ALLOWED, REFUSED = ("editor", "marketer", "admin"), ("staff", "analyst")


def draft_with_image(app) -> int:
    with session_scope(get_engine(app)) as session:
        menu = richmenus.create_menu(session, spec=MenuSpec("Main", "Menu", "half", "single"), actor=SYSTEM)
        richmenus.set_image(session, menu_id=menu.id, data=image_bytes((2500, 843)), actor=SYSTEM)
        return menu.id


def pages(menu_id: int) -> list[str]:
    return [
        "/richmenus",
        "/richmenus/rules",
        f"/richmenus/{menu_id}",
        f"/richmenus/{menu_id}/image",
        f"/richmenus/{menu_id}/delete",
    ]


@pytest.mark.parametrize("role", ALLOWED)
def test_editors_marketers_and_admins_open_every_rich_menu_page(app, role):
    menu_id = draft_with_image(app)
    client = signed_in_client(app, role)
    assert [client.get(path).status_code for path in pages(menu_id)] == [200] * 5
    assert "/richmenus" in client.get("/").get_data(as_text=True)  # the navigation shows the area


@pytest.mark.parametrize("role", REFUSED)
@pytest.mark.db_agnostic  # a permission check: the guard refuses before the view runs
def test_staff_and_analysts_are_refused_everywhere_and_change_nothing(app, role):
    menu_id = draft_with_image(app)
    client = signed_in_client(app, role)
    assert [client.get(path).status_code for path in pages(menu_id)] == [403] * 5
    token = csrf_token(client, "/")
    for path in (
        "/richmenus/new",
        f"/richmenus/{menu_id}",
        f"/richmenus/{menu_id}/publish",
        f"/richmenus/{menu_id}/unpublish",
        f"/richmenus/{menu_id}/delete",
        "/richmenus/rules/apply",
    ):
        assert client.post(path, data={"csrf_token": token, "name": "x", "confirm": "y"}).status_code == 403, path
    assert 'href="/richmenus"' not in client.get("/").get_data(as_text=True)
    with session_scope(get_engine(app)) as session:
        assert [menu.name for menu in richmenus.list_menus(session)] == ["Main"]
