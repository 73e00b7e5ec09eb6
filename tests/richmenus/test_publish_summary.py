"""What the console says after publishing a rich menu (never 「0人」 for a default menu), and its page's ids."""

import re

import pytest

from tests.console_helpers import signed_in_client
from tests.richmenus.helpers import new_menu, publish, ready_menu


@pytest.fixture
def line(sim, crm_server):
    return sim


def _flash(client, menu_id: int) -> str:
    html = client.get(f"/richmenus/{menu_id}").get_data(as_text=True)
    start = html.index("LINEに公開しました")
    return html[start : html.index("<", start)]


def test_publishing_as_the_default_says_everyone_sees_it(app, line):
    editor = signed_in_client(app, "editor", locale="ja")
    menu_id = ready_menu(editor)
    assert publish(editor, menu_id, default=True).status_code == 302
    message = _flash(editor, menu_id)
    assert "デフォルトメニュー" in message and "0人" not in message


def test_publishing_a_menu_nobody_gets_says_how_to_show_it(app, line):
    editor = signed_in_client(app, "editor", locale="ja")
    menu_id = ready_menu(editor)
    assert publish(editor, menu_id).status_code == 302
    message = _flash(editor, menu_id)
    assert "まだ誰にも表示されていません" in message and "0人" not in message


def test_the_menu_page_has_no_duplicate_element_ids(app):
    editor = signed_in_client(app, "editor", locale="ja")
    menu_id = new_menu(editor)
    ids = re.findall(r'\sid="([^"]+)"', editor.get(f"/richmenus/{menu_id}").get_data(as_text=True))
    assert sorted(ids) == sorted(set(ids)), [i for i in set(ids) if ids.count(i) > 1]
