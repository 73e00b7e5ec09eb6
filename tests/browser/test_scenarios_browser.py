"""A marketer builds a three-step scenario in a real browser (desktop and phone width), sees the timeline in
words, test-runs it (the test friend receives the three steps marked 「[テスト]」 in the LINE simulator), starts it,
and a new friend who adds the account receives each step as the clock moves to its time."""

from datetime import datetime, time, timedelta

import pytest
import time_machine
from playwright.sync_api import expect
from sqlmodel import select

from crm.broadcasts import models as broadcast_models
from crm.db import get_engine, session_scope
from crm.friends.models import Friend
from crm.scenarios.progress import advance_due
from crm.timeutil import TOKYO, to_tokyo, utcnow
from tests.browser.menu import open_area
from tests.browser.pages import no_sideways_scroll, sign_in
from tests.factories import make_staff, make_template
from tests.scenarios.delivery_helpers import tick

STEPS = [
    ({"timing_kind": "elapsed"}, {"delay_amount": "0"}, "ようこそ"),
    ({"timing_kind": "day_at"}, {"day_offset": "1", "at_time": "10:00"}, "2日目のご案内"),
    ({"timing_kind": "elapsed"}, {"delay_amount": "3"}, "クーポンのお知らせ"),
]


def _tester(app, sim) -> str:
    user = sim.create_user("店長")
    sim.follow(user)
    with session_scope(get_engine(app)) as session:
        friend_id = session.exec(select(Friend.id).where(Friend.line_user_id == user)).one()
        session.add(broadcast_models.TestFriend(friend_id=friend_id, label="店長"))
    return user


def _add_step(page, radio: dict, fields: dict, template_name: str):
    page.get_by_role("link", name="ステップを追加").click()
    page.check(f"input[name=timing_kind][value={radio['timing_kind']}]")
    elapsed = radio["timing_kind"] == "elapsed"
    expect(page.locator("input[name=delay_amount]")).to_be_visible(visible=elapsed)
    expect(page.locator("input[name=at_time]")).to_be_visible(visible=not elapsed)
    no_sideways_scroll(page, page.viewport_size["width"], "the step form")
    for name, value in fields.items():
        page.fill(f"input[name={name}]", value)
    page.select_option("select[name=variants-0-template_id]", label=template_name)
    page.get_by_role("button", name="ステップを保存").click()
    expect(page.locator(".flash-success")).to_contain_text("ステップを保存しました。")


@pytest.mark.parametrize("width", [1280, 390])
def test_build_a_three_step_scenario_and_test_run_it(app, sim, console_url, page, width):
    page.set_viewport_size({"width": width, "height": 900})
    for _, _, text in STEPS:
        make_template(app, [{"type": "text", "text": f"{text}です"}], name=text)
    tester = _tester(app, sim)
    sign_in(page, console_url, make_staff(app, "marketer"))
    open_area(page, "シナリオ配信")
    page.get_by_role("link", name="新しいシナリオ").click()
    page.fill("input[name=name]", "友だち追加のあいさつ")
    expect(page.locator("select[name=trigger_tag]")).to_be_hidden()
    page.select_option("select[name=trigger_kind]", "friend_added")
    expect(page.locator("input[name=include_unblocked]")).to_be_visible()
    no_sideways_scroll(page, width, "the settings form")
    page.get_by_role("button", name="保存", exact=True).click()
    expect(page.locator("#scenario-status")).to_have_attribute("data-status", "draft")
    for radio, fields, template_name in STEPS:
        _add_step(page, radio, fields, template_name)

    steps = page.locator(".timeline-step")
    expect(steps).to_have_count(3)
    expect(steps.nth(1)).to_contain_text("10:00")
    expect(steps.nth(2)).to_contain_text("クーポンのお知らせです")
    no_sideways_scroll(page, width, "the builder page")

    page.get_by_role("button", name="テスト友だちにテスト配信").click()
    expect(page.locator(".test-run-results tr[data-ok=yes]")).to_have_count(3)
    texts = [message["text"] for entry in sim.inbox(tester) for message in entry["messages"]]
    assert texts == [f"[テスト] {text}です" for _, _, text in STEPS]

    page.go_back()
    page.locator("button[data-move=activate]").click()
    expect(page.locator("#scenario-status")).to_have_attribute("data-status", "active")
    _a_new_friend_receives_each_step_on_time(app, sim)


def _run_the_worker(app) -> None:
    """What the worker does on its ticks: decide the due steps, then deliver them."""
    with session_scope(get_engine(app)) as session:
        advance_due(session, now=utcnow())
    tick(app)


def _texts(sim, user: str) -> list[str]:
    return [message["text"] for entry in sim.inbox(user) for message in entry["messages"]]


def _a_new_friend_receives_each_step_on_time(app, sim) -> None:
    friend = sim.create_user("はじめてのお客様")
    sim.follow(friend)  # the scenario starts on a friend added
    enrolled_at = utcnow()
    _run_the_worker(app)
    assert _texts(sim, friend) == ["ようこそです"]
    tomorrow_ten = datetime.combine(to_tokyo(enrolled_at).date() + timedelta(days=1), time(10), tzinfo=TOKYO)
    for moment, received in [
        (tomorrow_ten - timedelta(minutes=1), 1),  # 「翌日 10:00」 is not due a minute early
        (tomorrow_ten + timedelta(minutes=1), 2),
        (enrolled_at + timedelta(days=3) - timedelta(minutes=1), 2),
        (enrolled_at + timedelta(days=3, minutes=1), 3),
    ]:
        with time_machine.travel(moment, tick=False):
            _run_the_worker(app)
        assert len(_texts(sim, friend)) == received, moment
    assert _texts(sim, friend) == [f"{text}です" for _, _, text in STEPS]
