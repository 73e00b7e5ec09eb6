"""The friend page's history of automatic actions: newest first, Tokyo time, the action and its source in words,
the result; erasing the friend removes it."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import time_machine
from sqlmodel import select

from crm.actions.models import ActionRun
from crm.db import get_engine, session_scope
from crm.privacy import service as privacy
from crm.staff.audit import Actor
from crm.tracking import links as tracked_links
from tests.actions.helpers import run
from tests.console_helpers import signed_in_client
from tests.factories import make_field, make_friend, make_tag
from tests.surveys.helpers import build_survey, single


def test_the_friend_page_lists_the_runs_newest_first_with_their_source_in_words(app):
    friend_id, vip = make_friend(app), make_tag(app, "VIP")
    birthday = make_field(app, "birthday", label="誕生日")
    survey_id = build_survey(app, single("Q", "A", "B"), title="来店アンケート")
    with session_scope(get_engine(app)) as session:
        link_id = tracked_links.create_link(session, destination="https://shop.example.jp/sale").id
    with time_machine.travel(datetime(2026, 12, 6, 15, 30, tzinfo=UTC), tick=False):  # 00:30 in Tokyo
        run(app, friend_id, [{"type": "add_tag", "tag_id": vip}], trigger_key="a:1", source=f"survey:{survey_id}")
    with time_machine.travel(datetime(2026, 12, 7, 1, 5, tzinfo=UTC), tick=False):
        run(
            app,
            friend_id,
            [{"type": "set_field", "field_id": birthday, "value": "x"}, {"type": "no_such_kind"}],
            trigger_key="b:1",
            source=f"link:{link_id}",
        )
    page = signed_in_client(app, "admin").get(f"/friends/{friend_id}").get_data(as_text=True)
    section = page[page.index('id="action-history"') :]
    section = section[: section.index("</section>")]
    items = [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", "<li" + item)).strip() for item in section.split("<li")[1:]]
    assert items == [
        "no_such_kind 2026/12/07 10:05 · リンク「https://shop.example.jp/sale」のクリック · 対象なし",
        "友だち情報「誕生日」を「x」にする 2026/12/07 10:05 · リンク「https://shop.example.jp/sale」のクリック · 完了",
        "タグ「VIP」を付ける 2026/12/07 00:30 · アンケート「来店アンケート」 · 完了",
    ]


def test_erasing_the_friend_removes_the_history(app):
    friend_id, other, vip = make_friend(app), make_friend(app, n=2), make_tag(app, "VIP")
    run(app, friend_id, [{"type": "add_tag", "tag_id": vip}])
    run(app, other, [{"type": "add_tag", "tag_id": vip}])
    with session_scope(get_engine(app)) as session:
        counts = privacy.erase_friend(session, friend_id=friend_id, actor=Actor.system("test"))
    assert counts["action_runs"] == 1
    with session_scope(get_engine(app)) as session:
        assert [r.friend_id for r in session.exec(select(ActionRun))] == [other]
