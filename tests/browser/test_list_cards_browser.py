"""List tables on a phone: each row becomes a card (table.cards) whose cells show their column's name beside
the value, the main cell as the card's title and its links and buttons touch-sized; nothing scrolls sideways and
no cell is so narrow that a name breaks inside. At desktop width the same page is still a table."""

from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect

from crm.db import get_engine, session_scope
from crm.staff.audit import record
from tests.browser.pages import no_sideways_scroll, sign_in
from tests.factories import SYSTEM, make_broadcast, make_friends, make_staff, make_tags

PHONES = (360, 390)
DESKTOP = 1366

# What every card cell of the page shows, read in the browser: its label (the ::before content), the width left
# for its value, its word-break rule, how many lines the card's title text takes, the action targets' heights.
CELLS = """table => [...table.querySelectorAll(":scope > tbody > tr > td")].map(cell => {
    const style = getComputedStyle(cell);
    const title = cell.classList.contains("card-title") ? cell.querySelector("a, span") : null;
    return {
        lead: cell.classList.contains("card-lead"),
        text: title ? title.textContent.trim() : null,
        label: cell.dataset.label ?? null,
        shown: getComputedStyle(cell, "::before").content,
        display: style.display,
        value_width: cell.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight),
        font_size: parseFloat(style.fontSize),
        word_break: style.wordBreak,
        title_lines: title ? title.getClientRects().length : null,
        targets: cell.classList.contains("card-actions")
            ? [...cell.querySelectorAll("a, button")].map(target => target.getBoundingClientRect().height)
            : [],
    };
})"""


def _friends(app):
    vip, regular = make_tags(app, "VIP会員", "来店2回以上")
    make_friends(
        app,
        [
            {
                "display_name": "佐藤健太",
                "tags": [vip, regular],
                "last_interaction_at": datetime(2026, 12, 1, tzinfo=UTC),
            },
            {"display_name": "Alexandra Montgomery-Featherstonehaugh", "tags": [regular]},
        ],
    )
    return "/friends", "佐藤健太"


def _broadcasts(app):
    make_broadcast(app, [{"type": "text", "text": "冬のセール"}], name="冬のセールのお知らせ（12月）")
    return "/broadcasts", "冬のセールのお知らせ（12月）"


def _audit(app):
    with session_scope(get_engine(app)) as session:
        for n in range(3):
            record(session, actor=SYSTEM, action="tag.created", target_type="tag", target_id=n + 1, after={"n": n})
    return "/audit", None


def _staff(app):
    make_staff(app, "marketer", email="hanako.yamada.marketing@example.com")
    return "/staff", "Marketer"


def _head_height(table) -> float:
    """The height of the column names (a "tick every row" heading, .card-lead, stays above the cards)."""
    return table.evaluate(
        """table => Math.max(0, ...[...table.tHead.querySelectorAll("th:not(.card-lead)")]
            .map(th => th.getBoundingClientRect().height))"""
    )


@pytest.mark.parametrize(
    "build", [_friends, _broadcasts, _audit, _staff], ids=["friends", "broadcasts", "audit", "staff"]
)
def test_a_list_becomes_cards_on_a_phone_and_stays_a_table_on_a_desktop(app, console_url, page, build):
    path, title = build(app)
    page.set_viewport_size({"width": PHONES[0], "height": 800})
    sign_in(page, console_url, make_staff(app, "admin"))
    expect(page.get_by_role("heading", name="今日")).to_be_visible()
    page.goto(f"{console_url}{path}")
    table = page.locator("table.cards").first
    expect(table).to_be_visible()
    if title:
        expect(table.locator("td.card-title", has_text=title)).to_be_visible()
    for width in PHONES:
        page.set_viewport_size({"width": width, "height": 800})
        assert _head_height(table) <= 1  # the column names moved into the cards
        tick_all = table.locator("thead .card-lead-words")  # the friend list's "tick every row" box, in words
        expect(tick_all).to_have_count(1 if path == "/friends" else 0)
        if path == "/friends":
            expect(tick_all).to_be_visible()
        no_sideways_scroll(page, width, path)
        cells = [cell for cell in table.evaluate(CELLS) if cell["display"] != "none"]  # an empty cell is left out
        assert cells, f"{path} shows no rows"
        for cell in cells:
            assert cell["display"] != "table-cell", cell
            assert cell["word_break"] != "break-all", cell
            too_narrow = cell["value_width"] < 6 * cell["font_size"] and not cell["lead"]  # lead: tick box, picture
            assert not too_narrow, f"{path} at {width}px: a cell is too narrow: {cell}"
            if cell["label"] and cell["title_lines"] is None:
                assert cell["shown"] == f'"{cell["label"]}"', cell  # its column's name beside the value
            assert all(height >= 44 for height in cell["targets"]), cell
        short_titles = [cell for cell in cells if cell["text"] and cell["text"] == (title or cell["text"])]
        assert short_titles and all(cell["title_lines"] == 1 for cell in short_titles), short_titles  # not broken
    page.set_viewport_size({"width": DESKTOP, "height": 900})
    assert _head_height(table) > 10
    expect(table.locator("thead .card-lead-words")).to_be_hidden()
    cells = table.evaluate(CELLS)
    assert {cell["display"] for cell in cells} == {"table-cell"}
    assert {cell["shown"] for cell in cells} <= {"none", "normal"}  # no labels beside desktop cells
    no_sideways_scroll(page, DESKTOP, path)
