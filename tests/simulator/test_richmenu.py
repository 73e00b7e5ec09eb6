"""Rich menus: validation, images, default and per-user menus, aliases and switching."""

from __future__ import annotations

import pytest

from tests.simulator.images import jpeg, png

WIDTH, HEIGHT = 800, 540


def area(index: int, action: dict | None = None) -> dict:
    return {
        "bounds": {"x": index * 10, "y": 0, "width": 10, "height": 10},
        "action": action or {"type": "postback", "label": f"A{index}", "data": f"area={index}"},
    }


def menu(**overrides) -> dict:
    body = {
        "size": {"width": WIDTH, "height": HEIGHT},
        "selected": True,
        "name": "Survey",
        "chatBarText": "メニュー",
        "areas": [area(0), area(1, {"type": "message", "label": "Hi", "text": "hi"})],
    }
    return {**body, **overrides}


def create(line_api, **overrides) -> str:
    response = line_api.post("/v2/bot/richmenu", menu(**overrides))
    assert response.status_code == 200, response.text
    return response.json()["richMenuId"]


def upload(line_api, menu_id: str, data: bytes, content_type: str = "image/png"):
    return line_api.call(
        "POST", f"/v2/bot/richmenu/{menu_id}/content", data=data, headers={"Content-Type": content_type}
    )


def ready_menu(line_api, **overrides) -> str:
    menu_id = create(line_api, **overrides)
    assert upload(line_api, menu_id, png(WIDTH, HEIGHT)).status_code == 200
    return menu_id


def test_create_get_list_delete(line_api):
    menu_id = create(line_api)
    assert menu_id.startswith("richmenu-")
    got = line_api.get(f"/v2/bot/richmenu/{menu_id}").json()
    assert got == {"richMenuId": menu_id, **menu()}
    assert [item["richMenuId"] for item in line_api.get("/v2/bot/richmenu/list").json()["richmenus"]] == [menu_id]
    assert line_api.call("DELETE", f"/v2/bot/richmenu/{menu_id}").status_code == 200
    assert line_api.get(f"/v2/bot/richmenu/{menu_id}").status_code == 404


@pytest.mark.parametrize(
    ("overrides", "prop"),
    [
        ({"areas": [area(index) for index in range(21)]}, "areas"),
        ({"chatBarText": "x" * 15}, "chatBarText"),
        ({"areas": [area(0, {"type": "postback", "label": "p", "data": "d" * 301})]}, "areas[0].action.data"),
        (
            {"areas": [area(0, {"type": "uri", "label": "x" * 21, "uri": "https://example.com"})]},
            "areas[0].action.label",
        ),
        ({"size": {"width": 800, "height": 600}}, "size"),
        ({"name": None}, "name"),
    ],
)
def test_invalid_rich_menus_are_rejected_on_create_and_validate(line_api, overrides, prop):
    for path in ("/v2/bot/richmenu", "/v2/bot/richmenu/validate"):
        response = line_api.post(path, menu(**overrides))
        assert response.status_code == 400
        assert response.json()["message"].startswith("The request body has")
        assert prop in [detail["property"] for detail in response.json()["details"]]
    assert line_api.get("/v2/bot/richmenu/list").json() == {"richmenus": []}


def test_validate_accepts_a_good_menu(line_api):
    assert line_api.post("/v2/bot/richmenu/validate", menu()).status_code == 200


def test_image_upload_and_download(line_api):
    menu_id = create(line_api)
    image = png(WIDTH, HEIGHT)
    assert upload(line_api, menu_id, image).status_code == 200
    download = line_api.get(f"/v2/bot/richmenu/{menu_id}/content")
    assert download.content == image and download.headers["Content-Type"] == "image/png"


def test_jpeg_image_is_accepted(line_api):
    menu_id = create(line_api)
    assert upload(line_api, menu_id, jpeg(WIDTH, HEIGHT), "image/jpeg").status_code == 200


def test_image_cannot_be_replaced(line_api):
    menu_id = ready_menu(line_api)
    response = upload(line_api, menu_id, png(WIDTH, HEIGHT))
    assert response.status_code == 400
    assert response.json() == {"message": "An image has already been uploaded to the richmenu"}


def test_image_with_bad_ratio_is_rejected(line_api):
    menu_id = create(line_api)
    response = upload(line_api, menu_id, png(1000, 800))
    assert response.status_code == 400
    messages = [detail["message"] for detail in response.json()["details"]]
    assert any("aspect ratio" in message for message in messages)
    assert any("must match the rich menu size" in message for message in messages)


def test_image_over_1mb_is_rejected(line_api):
    menu_id = create(line_api)
    response = upload(line_api, menu_id, png(WIDTH, HEIGHT, padding=1024 * 1024))
    assert response.status_code == 413
    assert "1 MB" in response.json()["message"]


def test_image_type_is_checked_by_header_and_bytes(line_api):
    menu_id = create(line_api)
    assert upload(line_api, menu_id, png(WIDTH, HEIGHT), "image/gif").status_code == 415
    assert upload(line_api, menu_id, jpeg(WIDTH, HEIGHT), "image/png").status_code == 400
    assert upload(line_api, menu_id, b"not an image at all", "image/jpeg").status_code == 400


def test_menu_without_image_cannot_be_linked_or_made_default(line_api, friend):
    menu_id = create(line_api)
    for path in (f"/v2/bot/user/{friend}/richmenu/{menu_id}", f"/v2/bot/user/all/richmenu/{menu_id}"):
        response = line_api.post(path)
        assert response.status_code == 400
        assert response.json() == {"message": "must upload richmenu image before applying it to user"}


def test_default_and_per_user_menus(line_api, control, friend):
    default_id, personal_id = ready_menu(line_api), ready_menu(line_api, name="Personal")
    assert control.rich_menu(friend)["richMenuId"] is None
    assert line_api.get("/v2/bot/user/all/richmenu").status_code == 404
    assert line_api.post(f"/v2/bot/user/all/richmenu/{default_id}").status_code == 200
    assert line_api.get("/v2/bot/user/all/richmenu").json() == {"richMenuId": default_id}
    assert control.rich_menu(friend)["source"] == "default"
    assert line_api.post(f"/v2/bot/user/{friend}/richmenu/{personal_id}").status_code == 200
    assert line_api.get(f"/v2/bot/user/{friend}/richmenu").json() == {"richMenuId": personal_id}
    shown = control.rich_menu(friend)
    assert (shown["richMenuId"], shown["source"], shown["hasImage"]) == (personal_id, "user", True)
    assert shown["richMenu"]["areas"] == menu()["areas"]
    assert line_api.call("DELETE", f"/v2/bot/user/{friend}/richmenu").status_code == 200
    assert line_api.get(f"/v2/bot/user/{friend}/richmenu").status_code == 404
    assert control.rich_menu(friend)["richMenuId"] == default_id
    assert line_api.call("DELETE", "/v2/bot/user/all/richmenu").status_code == 200
    assert control.rich_menu(friend)["richMenuId"] is None


def test_bulk_link_and_unlink(line_api, control, friend):
    menu_id = ready_menu(line_api)
    other = control.create_user("Other")
    response = line_api.post("/v2/bot/richmenu/bulk/link", {"richMenuId": menu_id, "userIds": [friend, other]})
    assert response.status_code == 202
    assert control.rich_menu(other)["richMenuId"] == menu_id
    assert line_api.post("/v2/bot/richmenu/bulk/unlink", {"userIds": [friend, other]}).status_code == 202
    assert control.rich_menu(friend)["richMenuId"] is None
    too_many = line_api.post("/v2/bot/richmenu/bulk/link", {"richMenuId": menu_id, "userIds": [friend] * 501})
    assert too_many.status_code == 400
    assert too_many.json()["details"] == [{"message": "Size must be between 1 and 500", "property": "userIds"}]


def test_aliases(line_api):
    first, second = ready_menu(line_api), ready_menu(line_api)
    bare = create(line_api)

    def create_alias(alias_id: str, menu_id: str) -> int:
        return line_api.post("/v2/bot/richmenu/alias", {"richMenuAliasId": alias_id, "richMenuId": menu_id}).status_code

    assert create_alias("page-1", first) == 200
    assert create_alias("page-1", first) == 400
    assert create_alias("Bad Id", first) == 400
    assert create_alias("bare", bare) == 400
    assert line_api.post("/v2/bot/richmenu/alias/page-1", {"richMenuId": second}).status_code == 200
    assert line_api.get("/v2/bot/richmenu/alias/page-1").json() == {"richMenuAliasId": "page-1", "richMenuId": second}
    assert line_api.get("/v2/bot/richmenu/alias/list").json() == {
        "aliases": [{"richMenuAliasId": "page-1", "richMenuId": second}]
    }
    assert line_api.call("DELETE", "/v2/bot/richmenu/alias/page-1").status_code == 200
    assert line_api.get("/v2/bot/richmenu/alias/page-1").status_code == 404


def test_richmenuswitch_shows_the_alias_menu_and_posts_back_status(line_api, control, friend, receiver):
    page_two = ready_menu(line_api, name="Page 2")
    line_api.post("/v2/bot/richmenu/alias", {"richMenuAliasId": "page-2", "richMenuId": page_two})
    switch = {"type": "richmenuswitch", "label": "Next", "richMenuAliasId": "page-2", "data": "page=2"}
    missing = {"type": "richmenuswitch", "label": "Gone", "richMenuAliasId": "nowhere", "data": "page=9"}
    page_one = ready_menu(line_api, areas=[area(0, switch), area(1, missing)])
    line_api.post(f"/v2/bot/user/{friend}/richmenu/{page_one}")
    result = control.tap_rich_menu(friend, 0)
    assert result["status"] == 200
    assert result["event"]["postback"] == {
        "data": "page=2",
        "params": {"newRichMenuAliasId": "page-2", "status": "SUCCESS"},
    }
    assert control.rich_menu(friend)["richMenuId"] == page_two
    line_api.post(f"/v2/bot/user/{friend}/richmenu/{page_one}")
    assert control.tap_rich_menu(friend, 1)["event"]["postback"]["params"]["status"] == "RICHMENU_ALIAS_ID_NOTFOUND"
    assert control.rich_menu(friend)["richMenuId"] == page_one


def test_tapping_postback_and_message_areas_sends_events(line_api, control, friend):
    menu_id = ready_menu(line_api)
    line_api.post(f"/v2/bot/user/{friend}/richmenu/{menu_id}")
    assert control.tap_rich_menu(friend, 0)["event"]["postback"] == {"data": "area=0"}
    event = control.tap_rich_menu(friend, 1)["event"]
    assert event["type"] == "message" and event["message"]["text"] == "hi"


def test_deleting_a_menu_unlinks_it(line_api, control, friend):
    menu_id = ready_menu(line_api)
    line_api.post(f"/v2/bot/user/{friend}/richmenu/{menu_id}")
    line_api.post(f"/v2/bot/user/all/richmenu/{menu_id}")
    line_api.call("DELETE", f"/v2/bot/richmenu/{menu_id}")
    assert control.rich_menu(friend)["richMenuId"] is None
    assert line_api.get(f"/v2/bot/user/{friend}/richmenu").status_code == 404
