"""Auto-replies through the real webhook and the LINE simulator: the answer leaves after the webhook by reply
token (by push once the token is stale), priority and "continue", fallbacks once per period and outside business
hours, friend conditions, the emergency stop, a survey's free-text answer first, hits counted once."""

import time
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlmodel import select

from crm.auto_replies import switch
from crm.auto_replies.models import MatchMode, RuleKind
from crm.auto_replies.stats import hits_by_rule
from crm.db import get_engine, session_scope
from crm.sending.models import OutgoingReply
from crm.timeutil import utcnow
from tests.auto_replies.helpers import EDITOR, hits, make_rule
from tests.factories import friend_id_of, make_tag
from tests.surveys.helpers import bot_messages, build_survey, free, replies_settled

# Each test runs with inline and with queued handling: the same effects either way.
pytestmark = pytest.mark.usefixtures("webhook_handling")

TOKYO_NOON_MONDAY = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)  # Monday 12:00 in Japan
TOKYO_NIGHT_MONDAY = datetime(2026, 12, 7, 13, 0, tzinfo=UTC)  # Monday 22:00 in Japan


@pytest.fixture
def line(sim, crm_server):
    return sim


def new_user(line, app, name="Hanako") -> str:
    user = line.create_user(name)
    assert line.follow(user)["status"] == 200
    return user


def texts(line, user) -> list[str]:
    return [message.get("text") for message in bot_messages(line, user)]


def test_a_keyword_is_answered_by_reply_token_after_the_webhook(app, line):
    rule_id = make_rule(app, keywords=["営業時間"], ignore_spaces=True, answer="10時から19時まで営業しています")
    user = new_user(line, app)
    assert line.send_text(user, "営業 時間は何時ですか")["status"] == 200
    assert texts(line, user) == ["10時から19時まで営業しています"]
    [entry] = line.inbox(user)
    assert entry["api"] == "reply"
    [hit] = hits(app)
    assert (hit.rule_id, hit.friend_id) == (rule_id, friend_id_of(app, user)) and hit.reply_id is not None
    with session_scope(get_engine(app)) as session:
        counted = hits_by_rule(session, now=utcnow())[rule_id]
        assert (counted.today, counted.week, counted.total) == (1, 1, 1) and counted.last_at is not None


def test_a_stale_reply_token_gives_way_to_a_push_with_the_retry_key(app, line):
    make_rule(app, keywords=["予約"], answer="ご予約はこちら")
    user = new_user(line, app)
    old = int((time.time() - 120) * 1000)  # LINE delivered the event two minutes late
    event = {"type": "message", "source": {"type": "user", "userId": user}, "timestamp": old,
             "message": {"type": "text", "text": "予約したい"}}  # fmt: skip
    assert line.raw_events([event])["status"] == 200
    assert texts(line, user) == ["ご予約はこちら"]
    [entry] = line.inbox(user)
    with session_scope(get_engine(app)) as session:
        [reply] = session.exec(select(OutgoingReply)).all()
    assert entry["api"] == "push" and entry["retryKey"] == reply.retry_key and reply.sent_via == "push"


def test_the_first_matching_rule_wins_unless_it_lets_later_rules_answer(app, line):
    make_rule(app, "クーポン", keywords=["クーポン"], answer="今月のクーポンです")
    make_rule(app, "クーポン（2件目）", keywords=["くーぽん"], answer="届かない答え")
    user = new_user(line, app)
    line.send_text(user, "クーポンください")
    assert texts(line, user) == ["今月のクーポンです"]

    make_rule(app, "メニュー", keywords=["メニュー"], continue_to_next=True, answer="メニューはこちら")
    make_rule(app, "メニュー（続き）", keywords=["menu", "メニュー"], answer="おすすめはこちら")
    line.send_text(user, "メニュー")
    assert texts(line, user)[1:] == ["メニューはこちら", "おすすめはこちら"]  # one reply, two messages
    assert len(line.inbox(user)) == 2


def test_a_rule_outside_its_hours_or_for_other_friends_stays_silent(app, line):
    vip = make_tag(app, "VIP")
    make_rule(app, "VIP", keywords=["特典"], answer="VIP特典です",
              condition_tree={"type": "tag", "tag_id": vip, "op": "has"})  # fmt: skip
    make_rule(app, "ランチ", keywords=["ランチ"], weekdays="01234", start_minute=11 * 60, end_minute=14 * 60,
              answer="ランチは11時から")  # fmt: skip
    user = new_user(line, app)
    with time_machine.travel(TOKYO_NIGHT_MONDAY, tick=True):
        line.send_text(user, "特典は？")
        line.send_text(user, "ランチやってますか")
        assert texts(line, user) == []
    with time_machine.travel(TOKYO_NOON_MONDAY, tick=True):
        line.send_text(user, "ランチやってますか")
        assert texts(line, user) == ["ランチは11時から"]


def test_fallbacks_answer_once_per_friend_per_period(app, line):
    make_rule(app, "営業時間外", kind=RuleKind.OUTSIDE_HOURS, start_minute=10 * 60, end_minute=19 * 60,
              quiet_minutes=60, answer="営業時間外です。明日お返事します")  # fmt: skip
    make_rule(app, "その他", kind=RuleKind.ANY_OTHER, quiet_minutes=24 * 60, answer="スタッフが確認します")
    make_rule(app, "営業時間", keywords=["営業時間"], answer="10時から19時です")
    user = new_user(line, app)
    with time_machine.travel(TOKYO_NOON_MONDAY, tick=True):
        line.send_text(user, "こんにちは")
        line.send_text(user, "よろしくお願いします")
        line.send_message(user, {"type": "sticker"})
        line.send_text(user, "営業時間は？")  # a keyword still answers
        assert texts(line, user) == ["スタッフが確認します", "10時から19時です"]
    with time_machine.travel(TOKYO_NIGHT_MONDAY, tick=True):
        line.send_text(user, "まだ開いてますか")
        line.send_text(user, "もしもし")
    with time_machine.travel(TOKYO_NIGHT_MONDAY + timedelta(minutes=61), tick=True):
        line.send_text(user, "もしもし？")
        assert texts(line, user)[2:] == ["営業時間外です。明日お返事します"] * 2
    with time_machine.travel(TOKYO_NOON_MONDAY + timedelta(days=1, hours=1), tick=True):
        line.send_message(user, {"type": "sticker"})
        assert texts(line, user)[4:] == ["スタッフが確認します"]


def test_the_emergency_stop_pauses_every_answer(app, line):
    make_rule(app, keywords=["営業時間"], answer="10時から19時です")
    make_rule(app, "その他", kind=RuleKind.ANY_OTHER, answer="スタッフが確認します")
    user = new_user(line, app)
    with session_scope(get_engine(app)) as session:
        switch.set_stopped(session, actor=EDITOR, stopped=True)
    line.send_text(user, "営業時間は？")
    line.send_text(user, "こんにちは")
    assert texts(line, user) == [] and hits(app) == []
    with session_scope(get_engine(app)) as session:
        assert switch.automatic_answers_stopped(session)
        switch.set_stopped(session, actor=EDITOR, stopped=False)
    line.send_text(user, "営業時間は？")
    assert texts(line, user) == ["10時から19時です"]


def test_a_survey_waiting_for_free_text_takes_the_message_first(app, line):
    survey_id = build_survey(app, free("ご意見をどうぞ"), keyword="アンケート")
    make_rule(app, keywords=["営業時間"], answer="10時から19時です")
    make_rule(app, "その他", kind=RuleKind.ANY_OTHER, answer="スタッフが確認します")
    user = new_user(line, app)
    line.send_text(user, "アンケート")  # the survey's start keyword: the survey answers, not the fallback
    replies_settled()
    line.send_text(user, "営業時間をもっと長くしてほしい")  # a free-text answer, though it holds a keyword
    replies_settled()
    assert "10時から19時です" not in texts(line, user) and "スタッフが確認します" not in texts(line, user)
    assert hits(app) == [] and survey_id


def test_a_redelivered_message_is_answered_and_counted_once(app, line):
    make_rule(app, keywords=["営業時間"], answer="10時から19時です", match_mode=MatchMode.EXACT)
    user = new_user(line, app)
    line.send_text(user, "営業時間")
    replies_settled()
    event_id = hits(app)[0].event_key
    assert line.redeliver(event_id)["status"] == 200
    assert texts(line, user) == ["10時から19時です"] and len(hits(app)) == 1


def test_a_changed_rule_is_compiled_again_in_a_running_process(app):
    from crm.auto_replies import rules as rule_service
    from crm.auto_replies.runtime import IncomingMessage, answer
    from tests.factories import make_friend

    friend_id = make_friend(app)
    rule_id = make_rule(app, keywords=["営業時間"])

    def answered(n: int, text: str) -> list[int]:
        with app.test_request_context(), session_scope(get_engine(app)) as session:
            return answer(session, IncomingMessage(friend_id, f"event-{n}", text, None, utcnow()))

    assert answered(1, "営業時間") == [rule_id]
    with session_scope(get_engine(app)) as session:
        rule_service.set_enabled(session, actor=EDITOR, rule_id=rule_id, enabled=False)
    assert answered(2, "営業時間") == []
    with session_scope(get_engine(app)) as session:
        template_id = session.get(rule_service.AutoReplyRule, rule_id).template_id
        values = rule_service.RuleValues(name="営業時間", keywords=["何時まで"], template_id=template_id)
        rule_service.update_rule(session, actor=EDITOR, rule_id=rule_id, values=values)
    assert answered(3, "営業時間") == [] and answered(4, "何時までですか") == [rule_id]
