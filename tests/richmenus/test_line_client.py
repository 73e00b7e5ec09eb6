"""The LINE adapter's rich menu methods against the simulator, one by one."""

import pytest

from crm.line.client import LineClient
from crm.line.errors import LineApiError
from crm.richmenus.layouts import Action, Area, line_menu
from tests.richmenus.helpers import image_bytes


@pytest.fixture
def client(simulator, sim):
    return LineClient(api_base=simulator.url, access_token="simulator-access-token", timeout=5)


def make_menu(client) -> str:
    body = line_menu(
        name="n", chat_bar_text="c", size="half", selected=False, areas=[Area(0, 0, 2500, 843, Action("message", "hi"))]
    )
    menu_id = client.create_rich_menu(body)
    client.set_rich_menu_image(menu_id, image_bytes((2500, 843), "JPEG"), "image/jpeg")
    return menu_id


def test_every_rich_menu_method_reaches_line(client, sim):
    first, second = make_menu(client), make_menu(client)
    assert {menu["richMenuId"] for menu in client.list_rich_menus()} == {first, second}
    user = sim.create_user("A")
    client.set_default_rich_menu(first)
    assert sim.rich_menu(user)["richMenuId"] == first
    client.link_rich_menu(user, second)
    shown = sim.rich_menu(user)
    assert (shown["richMenuId"], shown["source"], shown["hasImage"]) == (second, "user", True)
    client.unlink_rich_menu(user)
    client.bulk_link_rich_menu(second, [user])
    assert sim.rich_menu(user)["source"] == "user"
    client.bulk_unlink_rich_menu([user])
    client.clear_default_rich_menu()
    assert sim.rich_menu(user)["richMenuId"] is None
    client.create_rich_menu_alias("tab-a", first)
    client.update_rich_menu_alias("tab-a", second)
    client.delete_rich_menu_alias("tab-a")
    client.delete_rich_menu(first)
    assert [menu["richMenuId"] for menu in client.list_rich_menus()] == [second]
    assert [entry["path"] for entry in sim.requests_log(path="/content")] == [
        f"/v2/bot/richmenu/{first}/content",
        f"/v2/bot/richmenu/{second}/content",
    ]


def test_bulk_calls_refuse_more_than_500_users_before_calling_line(client, sim):
    with pytest.raises(ValueError):
        client.bulk_link_rich_menu("richmenu-x", [f"U{i:032x}" for i in range(501)])
    with pytest.raises(ValueError):
        client.bulk_unlink_rich_menu([])
    assert sim.requests_log(path="/bulk") == []


def test_line_errors_keep_their_status(client):
    with pytest.raises(LineApiError) as caught:
        client.delete_rich_menu("richmenu-missing")
    assert caught.value.status == 404
