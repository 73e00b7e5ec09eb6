"""The builder: layouts tile the image, LINE's limits on texts, areas and actions, and the console form."""

import json

import pytest

from crm.db import get_engine, session_scope
from crm.richmenus import drafts as richmenus
from crm.richmenus.drafts import MenuSpec
from crm.richmenus.layouts import (
    LAYOUTS,
    Action,
    Area,
    RichMenuError,
    clean_action,
    clean_areas,
    layout_bounds,
    line_menu,
)
from crm.richmenus.views import SURVEY_CHOICES_KEY
from tests.console_helpers import signed_in_client
from tests.richmenus.helpers import SYSTEM, edit_form, menu_row, new_menu, save_menu, set_actions


@pytest.mark.parametrize("size", ["full", "half"])
@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_every_layout_tiles_the_whole_image_without_overlap(layout, size):
    width, height = {"full": (2500, 1686), "half": (2500, 843)}[size]
    bounds = layout_bounds(layout, size)
    assert 1 <= len(bounds) <= 6
    covered = sum(w * h for _x, _y, w, h in bounds)
    assert covered == width * height
    assert all(x >= 0 and y >= 0 and x + w <= width and y + h <= height for x, y, w, h in bounds)


def test_three_columns_split_like_line_does():
    assert layout_bounds("cols3", "half") == [(0, 0, 833, 843), (833, 0, 833, 843), (1666, 0, 834, 843)]


@pytest.mark.parametrize(
    ("action", "message"),
    [
        (Action("postback", "d" * 301), "at most %(max)d"),
        (Action("message", "t" * 301), "at most %(max)d"),
        (Action("message", "😀" * 151), "at most %(max)d"),
        (Action("uri", "ftp://example.com/file"), "http://"),
        (Action("uri", "javascript:alert(1)"), "http://"),
        (Action("uri", "https://example.com/" + "a" * 981), "at most %(max)d characters"),
        (Action("switch", "Tab B"), "tab ID"),
        (Action("switch", "x" * 33), "tab ID"),
        (Action("message", "   "), "Fill in"),
        (Action("jump", "x"), "Choose what"),
        (Action("message", "hi", "l" * 21), "label"),
    ],
)
def test_actions_over_lines_limits_are_refused(action, message):
    with pytest.raises(RichMenuError) as caught:
        clean_action(action)
    assert message in caught.value.problems[0][0]


def test_actions_at_the_limits_are_accepted_and_urls_are_percent_encoded():
    assert clean_action(Action("postback", "d" * 300)).value == "d" * 300
    assert clean_action(Action("message", "t" * 300, "l" * 20)).label == "l" * 20
    assert clean_action(Action("uri", "https://example.com/" + "a" * 980)).value.endswith("a")
    assert clean_action(Action("uri", " https://example.com/店舗?q=あ ")).value == (
        "https://example.com/%E5%BA%97%E8%88%97?q=%E3%81%82"
    )
    assert clean_action(Action("switch", "tab-b_2")).value == "tab-b_2"


def test_custom_areas_must_stay_inside_the_image_and_number_at_most_20():
    inside = Area(0, 0, 2500, 843, Action("message", "ok"))
    assert clean_areas([inside], "half") == [inside]
    with pytest.raises(RichMenuError) as caught:
        clean_areas([inside, Area(2000, 0, 501, 100), Area(0, 0, 0, 10)], "half")
    assert [params["number"] for _msgid, params in caught.value.problems] == [2, 3]
    with pytest.raises(RichMenuError):
        clean_areas([Area(i, 0, 1, 1) for i in range(21)], "full")
    assert len(clean_areas([Area(i, 0, 1, 1) for i in range(20)], "full")) == 20


@pytest.mark.parametrize(
    ("name", "chat_bar_text"), [("", "Menu"), ("x" * 301, "Menu"), ("Main", ""), ("Main", "x" * 15), ("Main", "😀" * 8)]
)
def test_names_and_chat_bar_texts_over_the_limits_are_refused(app, name, chat_bar_text):
    with session_scope(get_engine(app)) as session, pytest.raises(RichMenuError):
        richmenus.create_menu(session, spec=MenuSpec(name, chat_bar_text, "full", "cols2"), actor=SYSTEM)


def test_the_line_menu_object_carries_every_action_type():
    areas = [
        Area(0, 0, 10, 10, Action(kind, value, "L"))
        for kind, value in (
            ("postback", "survey=1"),
            ("uri", "https://e.example/"),
            ("message", "hi"),
            ("switch", "tab-b"),
        )
    ]
    body = line_menu(name="n", chat_bar_text="c", size="half", selected=True, areas=areas)
    assert body["size"] == {"width": 2500, "height": 843} and body["selected"] is True
    assert [area["action"] for area in body["areas"]] == [
        {"type": "postback", "data": "survey=1", "label": "L"},
        {"type": "uri", "uri": "https://e.example/", "label": "L"},
        {"type": "message", "text": "hi", "label": "L"},
        {"type": "richmenuswitch", "richMenuAliasId": "tab-b", "data": "richmenu-switch=tab-b", "label": "L"},
    ]


def test_the_console_builds_a_menu_and_keeps_actions_when_the_layout_changes(app):
    client = signed_in_client(app, "editor", locale="en")
    menu_id = new_menu(client, layout="grid6")
    assert len(json.loads(menu_row(app, menu_id).areas)) == 6
    set_actions(client, menu_id, [("message", "one"), ("uri", "https://example.com/店"), ("message", "three")])
    saved = json.loads(menu_row(app, menu_id).areas)
    assert saved[1]["action"] == {"kind": "uri", "value": "https://example.com/%E5%BA%97", "label": ""}
    assert saved[3]["action"] is None
    assert save_menu(client, menu_id, layout="cols2").status_code == 302
    menu = menu_row(app, menu_id)
    assert [area["action"]["value"] for area in json.loads(menu.areas)] == ["one", "https://example.com/%E5%BA%97"]
    assert [area["width"] for area in json.loads(menu.areas)] == [1250, 1250]
    html = client.get(f"/richmenus/{menu_id}").get_data(as_text=True)
    assert html.count('class="rm-area"') == 2 and "Upload the menu&#39;s image first." in html


def test_custom_rectangles_are_saved_and_errors_name_the_area(app):
    client = signed_in_client(app, "marketer", locale="en")
    menu_id = new_menu(client, size="half", layout="custom")
    form = edit_form(client, menu_id)
    assert form["areas-0-width"] == "2500" and form["areas-1-width"] == ""
    rectangles = {
        "areas-0-x": "0",
        "areas-0-y": "0",
        "areas-0-width": "1000",
        "areas-0-height": "843",
        "areas-0-kind": "message",
        "areas-0-value": "left",
        "areas-1-x": "1000",
        "areas-1-y": "0",
        "areas-1-width": "1500",
        "areas-1-height": "843",
        "areas-1-kind": "postback",
        "areas-1-value": "survey=7",
    }
    assert save_menu(client, menu_id, **rectangles).status_code == 302
    assert [(a["x"], a["width"]) for a in json.loads(menu_row(app, menu_id).areas)] == [(0, 1000), (1000, 1500)]
    response = save_menu(client, menu_id, **{**rectangles, "areas-1-width": "1501"})
    assert response.status_code == 400
    assert "Area 2: Keep every area inside the image (2500 × 843)." in response.get_data(as_text=True)


def test_the_console_refuses_bad_input_with_clear_messages_and_saves_nothing(app):
    client = signed_in_client(app, "admin", locale="en")
    menu_id = new_menu(client)
    before = menu_row(app, menu_id)
    response = save_menu(
        client,
        menu_id,
        chat_bar_text="fifteen chars!!",
        **{"areas-0-kind": "uri", "areas-0-value": "ftp://example.com"},
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "The chat-bar text has 1 to 14 characters (now 15)." in html
    response = save_menu(
        client,
        menu_id,
        **{
            "areas-0-kind": "uri",
            "areas-0-value": "ftp://example.com",
            "areas-1-kind": "switch",
            "areas-1-value": "nowhere",
        },
    )
    html = response.get_data(as_text=True)
    assert "Area 1: Enter a URL that starts with http:// or https://." in html
    assert "Area 2: no other menu has the tab ID “nowhere”." in html
    after = menu_row(app, menu_id)
    assert (after.areas, after.chat_bar_text, after.revision) == (before.areas, before.chat_bar_text, before.revision)


def test_tab_ids_are_unique_and_switch_actions_need_an_existing_tab(app):
    client = signed_in_client(app, "editor", locale="en")
    first, second = new_menu(client, name="Tab A"), new_menu(client, name="Tab B")
    assert save_menu(client, first, alias_id="tab-a").status_code == 302
    response = save_menu(client, second, alias_id="tab-a")
    assert "Another menu already uses the tab ID “tab-a”." in response.get_data(as_text=True)
    set_actions(client, second, [("switch", "tab-a"), ("message", "b")], alias_id="tab-b")
    assert menu_row(app, second).alias_id == "tab-b"


def test_a_survey_picker_appears_when_the_surveys_package_provides_surveys(app):
    client = signed_in_client(app, "editor", locale="en")
    menu_id = new_menu(client)
    assert 'name="areas-0-survey"' not in client.get(f"/richmenus/{menu_id}").get_data(as_text=True)
    app.extensions[SURVEY_CHOICES_KEY] = lambda session: [("Spring survey", "sv:s:7"), ("<b>Menu</b>", "sv:s:8")]
    html = client.get(f"/richmenus/{menu_id}").get_data(as_text=True)
    assert '<option value="sv:s:7">Spring survey</option>' in html and "&lt;b&gt;Menu&lt;/b&gt;" in html
    set_actions(client, menu_id, [("postback", ""), ("message", "hi")], **{"areas-0-survey": "sv:s:7"})
    assert json.loads(menu_row(app, menu_id).areas)[0]["action"]["value"] == "sv:s:7"
    assert edit_form(client, menu_id)["areas-0-survey"] == "sv:s:7"
