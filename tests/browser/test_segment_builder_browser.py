"""Building a segment in a real browser: two conditions in the builder, the live count follows each edit,
and the saved segment is listed with its count."""

import json

from playwright.sync_api import expect
from sqlmodel import Session, select

from crm.db import get_engine
from crm.segments.models import Segment
from tests.factories import PASSWORD, make_staff
from tests.segments.world import build


def test_build_a_segment_with_a_live_count_and_save_it(app, console_url, page):
    world = build(app)  # tag A: aki, ben, cho (blocked); tag B: aki, cho, eri
    email = make_staff(app, "marketer")
    page.goto(f"{console_url}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("form button[type=submit]")

    page.goto(f"{console_url}/segments/new")
    page.fill("input[name=name]", "A と B の両方")
    count = page.locator("#segment-count")
    expect(count).to_have_attribute("data-count", "5")  # no condition yet: every following friend
    page.locator(".segment-add-condition").first.click()
    leaves = page.locator(".segment-leaf")
    leaves.nth(0).locator("select").nth(1).select_option(str(world.tags["A"]))
    expect(count).to_have_attribute("data-count", "2")  # aki, ben
    page.locator(".segment-add-condition").first.click()
    leaves.nth(1).locator("select").nth(1).select_option(str(world.tags["B"]))
    expect(count).to_have_attribute("data-count", "1")  # aki
    page.locator(".segment-group-head select").first.select_option("any")
    expect(count).to_have_attribute("data-count", "3")  # aki, ben, eri
    page.locator(".segment-group-head select").first.select_option("all")
    expect(count).to_have_attribute("data-count", "1")
    page.click("#segment-form button[type=submit]")

    expect(page.locator("tr[data-segment] td.count")).to_have_text("1")
    with Session(get_engine(app)) as session:
        saved = session.exec(select(Segment)).one()
    assert saved.name == "A と B の両方"
    assert json.loads(saved.tree) == {
        "type": "all",
        "conditions": [{"type": "tag", "tag_id": world.tags["A"]}, {"type": "tag", "tag_id": world.tags["B"]}],
    }


def test_a_last_interaction_condition_reads_in_natural_order(app, console_url, page):
    build(app)
    email = make_staff(app, "marketer")
    page.goto(f"{console_url}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("form button[type=submit]")
    page.goto(f"{console_url}/segments/new")
    page.locator(".segment-add-condition").first.click()
    leaf = page.locator(".segment-leaf").first
    leaf.locator("select").first.select_option("interaction")
    words = leaf.evaluate(
        """leaf => [...leaf.querySelectorAll('input, span, select')].map(node =>
            node.tagName === 'SELECT' ? node.selectedOptions[0].textContent
            : node.tagName === 'INPUT' ? '[' + node.value + ']' : node.textContent).join(' ')"""
    )
    assert words.endswith("[30] 日 以上前"), words
    leaf.locator("select").last.select_option("newer")
    assert leaf.locator("select").last.evaluate("select => select.selectedOptions[0].textContent") == "以内"
