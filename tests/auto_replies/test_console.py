"""The auto-replies console: save a rule through the form (refusals on the field at fault), switch it, move it,
copy and delete it, try a text, the emergency stop's banner on every page, permissions and the audit log."""

import pytest
from sqlmodel import select

from crm.auto_replies.models import AutoReplyRule
from crm.db import get_engine, session_scope
from crm.staff.models import AuditEntry
from tests.auto_replies.helpers import make_rule
from tests.console_helpers import post_form, signed_in_client
from tests.factories import make_template


@pytest.fixture
def staff(app):
    return signed_in_client(app, "staff")


def rules(app) -> list[AutoReplyRule]:
    with session_scope(get_engine(app)) as session:
        return list(session.exec(select(AutoReplyRule).order_by(AutoReplyRule.position)))


def test_a_rule_is_saved_through_the_form_and_refusals_name_the_field(app, staff):
    template_id = make_template(app, name="営業時間のご案内")
    form = {"name": "営業時間", "keywords": "営業時間\n何時まで", "match_mode": "regex", "weekdays": ["0", "1"],
            "start_time": "10:00", "end_time": "19:00", "template_id": str(template_id), "quiet_minutes": "1440",
            "enabled": "y"}  # fmt: skip
    refused = post_form(staff, "/auto-replies/new", {**form, "keywords": "(a)\\1"}, "/auto-replies/new")
    assert refused.status_code == 400 and rules(app) == []
    assert '<p class="error">' in refused.get_data(as_text=True)
    saved = post_form(staff, "/auto-replies/new", {**form, "match_mode": "contains"}, "/auto-replies/new")
    assert saved.status_code == 302
    [rule] = rules(app)
    assert (rule.weekdays, rule.start_minute, rule.end_minute, rule.template_id) == ("01", 600, 1140, template_id)
    page = staff.get("/auto-replies").get_data(as_text=True)
    assert "営業時間、何時まで" in page and "営業時間のご案内" in page


def test_switch_move_copy_and_delete_from_the_list(app, staff):
    first, second = make_rule(app, "一番", keywords=["a"]), make_rule(app, "二番", keywords=["b"])
    assert post_form(staff, f"/auto-replies/{second}/up", {}).status_code == 302
    assert [rule.name for rule in rules(app)] == ["二番", "一番"]
    post_form(staff, f"/auto-replies/{first}/disable", {})
    assert [rule.enabled for rule in rules(app)] == [True, False]
    post_form(staff, f"/auto-replies/{first}/copy", {})
    assert [rule.name for rule in rules(app)] == ["二番", "一番", "一番 のコピー"]
    post_form(staff, f"/auto-replies/{first}/delete", {})
    assert [rule.name for rule in rules(app)] == ["二番", "一番 のコピー"]
    with session_scope(get_engine(app)) as session:
        actions = set(session.exec(select(AuditEntry.action).where(AuditEntry.action.like("auto_reply.%"))))
    assert actions == {"auto_reply.moved", "auto_reply.disabled", "auto_reply.created", "auto_reply.deleted"}


def test_the_try_box_says_which_rule_would_answer(app, staff):
    make_rule(app, "営業時間", keywords=["営業時間"])
    found = staff.get("/auto-replies?text=営業時間は？").get_data(as_text=True)
    assert 'id="try-result"' in found and "営業時間</strong>" in found
    missed = staff.get("/auto-replies?text=こんにちは").get_data(as_text=True)
    assert 'id="try-result"' in missed and "</strong>" not in missed.split('id="try-result"')[1].split("</p>")[0]


def test_the_emergency_stop_shows_on_every_page_until_resumed(app, staff):
    assert 'id="automatic-answers-paused"' not in staff.get("/friends").get_data(as_text=True)
    post_form(staff, "/auto-replies/stop", {"stopped": "1"})
    for page in ("/", "/friends", "/templates", "/auto-replies"):
        assert 'id="automatic-answers-paused"' in staff.get(page).get_data(as_text=True), page
    post_form(staff, "/auto-replies/stop", {"stopped": "0"})
    assert 'id="automatic-answers-paused"' not in staff.get("/friends").get_data(as_text=True)
    with session_scope(get_engine(app)) as session:
        query = select(AuditEntry.action).where(AuditEntry.action.like("auto_reply.%")).order_by(AuditEntry.id)
        actions = list(session.exec(query))
    assert actions == ["auto_reply.stopped", "auto_reply.resumed"]


def test_only_roles_that_manage_auto_replies_open_the_pages(app):
    analyst = signed_in_client(app, "analyst")
    assert analyst.get("/auto-replies").status_code == 403
    assert post_form(analyst, "/auto-replies/stop", {"stopped": "1"}).status_code == 403
    assert signed_in_client(app, "marketer").get("/auto-replies").status_code == 200


def test_the_friend_page_says_which_rule_answered(app, staff):
    from crm.auto_replies.runtime import IncomingMessage, answer
    from crm.timeutil import utcnow
    from tests.factories import make_friend

    friend_id = make_friend(app)
    make_rule(app, "営業時間", keywords=["営業時間"])
    assert "自動応答「営業時間」が返信" not in staff.get(f"/friends/{friend_id}").get_data(as_text=True)
    with app.test_request_context(), session_scope(get_engine(app)) as session:
        message = IncomingMessage(friend_id, "event-1", "営業時間は？", None, utcnow())
        assert answer(session, message)
    assert "自動応答「営業時間」が返信" in staff.get(f"/friends/{friend_id}").get_data(as_text=True)
