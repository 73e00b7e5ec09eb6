"""The tags page at desktop and phone width: every row's cells share its borders, and the columns of every
folder's table line up with the next folder's."""

import pytest

from tests.factories import PASSWORD, make_staff, make_tag


def _cell_boxes(page, row_selector):
    return page.eval_on_selector_all(
        f"{row_selector} > td",
        "cells => cells.map(cell => { const box = cell.getBoundingClientRect(); "
        "return {top: box.top, bottom: box.bottom, left: box.left, width: box.width}; })",
    )


@pytest.mark.parametrize("width", [1366, 390])
def test_tag_tables_rows_and_columns_line_up(app, console_url, page, width):
    page.set_viewport_size({"width": width, "height": 900})
    first = make_tag(app, "VIP会員", folder="会員ランク", description="年間購入額が10万円以上のお客様")
    second = make_tag(app, "とても長いタグの名前でも列がずれないことを確かめる", folder="キャンペーン")
    page.goto(f"{console_url}/login")
    page.fill("input[name=email]", make_staff(app, "admin"))
    page.fill("input[name=password]", PASSWORD)
    page.click("form button[type=submit]")
    page.goto(f"{console_url}/tags")

    rows = [_cell_boxes(page, f"tr[data-tag='{tag_id}']") for tag_id in (first, second)]
    visible = [[cell for cell in cells if cell["width"] > 0] for cells in rows]
    assert len(visible[0]) == 4  # the description too, on a phone as well
    for cells in visible:
        tops = [round(cell["top"]) for cell in cells]
        if width > 640:  # a table row: the cells side by side
            assert len(set(tops)) == 1 and len({round(cell["bottom"]) for cell in cells}) == 1, cells
        else:  # a card (the second tag's empty description left out): the cells one under the other
            assert tops == sorted(set(tops)), cells
    if width > 640:
        assert [round(cell["left"]) for cell in rows[0]] == [round(cell["left"]) for cell in rows[1]]
    else:
        assert {round(cell["left"]) for cell in visible[0]} == {round(cell["left"]) for cell in visible[1]}
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1
