"""The talk view: every kind of item a friend saw or did, in order and marked with its source; paging back; and
the polling endpoint returning only what is new."""

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from crm.broadcasts.models import BroadcastRecipient, RecipientState
from crm.db import get_engine, session_scope
from crm.friends.models import Message
from crm.scenarios.models import Enrolment, ScenarioSend, ScenarioStep, SendState
from crm.sending.models import OutgoingReply, ReplyState
from crm.tracking.models import LinkClick, TrackedLink
from crm.webhook.models import WebhookEvent
from surveys.models import Survey, SurveyAnswer, SurveyChoice, SurveyQuestion, SurveyResponse, SurveyVersion
from tests.console_helpers import signed_in_client
from tests.factories import friend_id_of, make_broadcast, make_friend, make_scenario
from tests.inbox.helpers import add_message, talk_items

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
RETRY_KEY = re.compile(r'name="retry_key"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="retry_key"')
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


@pytest.fixture
def line(sim, crm_server):
    return sim


def send_reply(client, friend_id: int, text: str) -> dict:
    """Send from the chat page's reply box as its script does (JSON)."""
    html = client.get(f"/chat/{friend_id}").get_data(as_text=True)
    key = RETRY_KEY.search(html)
    form = {"csrf_token": CSRF.search(html).group(1), "retry_key": key.group(1) or key.group(2), "text": text}
    response = client.post(f"/chat/{friend_id}/reply", data=form, headers={"Accept": "application/json"})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def _activity_rows(app, friend_id: int, times: list[datetime]) -> None:
    """A broadcast, a scenario step, a survey question and answer, an automatic answer and a click, at these times."""
    broadcast_id = make_broadcast(app, [{"type": "text", "text": "冬のセール開催中"}], name="冬のセール")
    scenario_id = make_scenario(app, name="ようこそ", steps=[{"name": "クーポン"}])
    with session_scope(get_engine(app)) as session:
        step = session.exec(select(ScenarioStep).where(ScenarioStep.scenario_id == scenario_id)).one()
        enrolment = Enrolment(scenario_id=scenario_id, friend_id=friend_id, trigger_key="test")
        survey = Survey(title="来店アンケート")
        session.add_all([enrolment, survey])
        session.flush()
        version = SurveyVersion(survey_id=survey.id, number=1)
        session.add(version)
        session.flush()
        question = SurveyQuestion(version_id=version.id, kind="single", text="満足度は？")
        session.add(question)
        session.flush()
        choice = SurveyChoice(question_id=question.id, label="満足")
        response = SurveyResponse(survey_id=survey.id, version_id=version.id, friend_id=friend_id, channel="chat")
        link = TrackedLink(destination="https://shop.example.com/coupon", source="broadcast")
        session.add_all([choice, response, link])
        session.flush()
        session.add_all(
            [
                BroadcastRecipient(
                    broadcast_id=broadcast_id, friend_id=friend_id, state=RecipientState.SENT, sent_at=times[0]
                ),
                ScenarioSend(
                    enrolment_id=enrolment.id,
                    scenario_id=scenario_id,
                    step_id=step.id,
                    friend_id=friend_id,
                    state=SendState.SENT,
                    created_at=times[1],
                ),
                _reply(friend_id, "survey", "満足度は？", times[2]),
                SurveyAnswer(
                    response_id=response.id,
                    question_id=question.id,
                    friend_id=friend_id,
                    choice_id=choice.id,
                    answered_at=times[3],
                ),
                _reply(friend_id, "keyword", "営業時間は10時から19時です", times[4]),
                LinkClick(link_id=link.id, friend_id=friend_id, broadcast_id=broadcast_id, clicked_at=times[5]),
            ]
        )


def _reply(friend_id: int, source: str, text: str, at: datetime) -> OutgoingReply:
    return OutgoingReply(
        friend_id=friend_id,
        line_user_id="U",
        messages=json.dumps([{"type": "text", "text": text}], ensure_ascii=False),
        retry_key=f"{source}-{at.timestamp()}",
        source=source,
        state=ReplyState.SENT,
        created_at=at,
    )


def test_the_talk_view_shows_everything_in_order_with_its_source(app, line):
    user = line.create_user("佐藤 花子")
    line.follow(user)
    friend_id = friend_id_of(app, user)
    line.send_text(user, "こんにちは")
    line.send_message(user, {"type": "sticker", "packageId": "446", "stickerId": "1988"})
    line.send_message(user, {"type": "image"})
    line.postback(user, "menu=coupon")
    client = signed_in_client(app, "staff")
    send_reply(client, friend_id, "ご連絡ありがとうございます")
    line.unfollow(user)
    with session_scope(get_engine(app)) as session:
        replied = session.exec(select(Message.created_at).where(Message.sent_via == "console")).one()
        blocked = session.exec(select(WebhookEvent.occurred_at).where(WebhookEvent.event_type == "unfollow")).one()
    assert blocked > replied
    step = (blocked - replied) / 7
    _activity_rows(app, friend_id, [replied + step * (i + 1) for i in range(6)])

    items = talk_items(client.get(f"/chat/{friend_id}").get_data(as_text=True))
    assert [(side, source) for side, source, _key, _html in items] == [
        ("event", "event-follow"),
        ("friend", "message"),
        ("friend", "message"),
        ("friend", "message"),
        ("friend", "event-postback"),
        ("account", "message"),
        ("account", "broadcast"),
        ("account", "scenario"),
        ("account", "reply"),
        ("friend", "survey-answer"),
        ("account", "reply"),
        ("event", "click"),
        ("event", "event-unfollow"),
    ]
    html = [inner for _side, _source, _key, inner in items]
    assert "友だち追加" in html[0]
    assert "こんにちは" in html[1]
    assert 'src="https://stickershop.line-scdn.net/stickershop/v1/sticker/1988/android/sticker.png"' in html[2]
    assert "446/1988" in html[2] and "[sticker]" not in html[2]
    assert "画像" in html[3] and '<img src="/chat/messages/' in html[3]  # read from LINE: test_images.py
    assert "メニュー" in html[4] and "menu=coupon" in html[4]
    assert "スタッフの返信（Staff）" in html[5] and "ご連絡ありがとうございます" in html[5]  # who replied
    assert "配信「冬のセール」" in html[6] and "冬のセール開催中" in html[6]
    assert "シナリオ「ようこそ」" in html[7] and "クーポン" in html[7]
    assert "アンケートの質問" in html[8] and "満足度は？" in html[8]
    assert "来店アンケート" in html[9] and "満足度は？" in html[9] and "満足" in html[9]
    assert "自動応答" in html[10] and "営業時間は10時から19時です" in html[10]
    assert "https://shop.example.com/coupon" in html[11]
    assert "ブロック" in html[12]


def test_a_sticker_whose_event_was_pruned_is_named_by_a_label(app):
    friend_id = make_friend(app)
    add_message(app, friend_id, None, at=T0, message_type="sticker", webhook_event_id="gone")
    client = signed_in_client(app, "staff")
    [(_side, _source, _key, inner)] = talk_items(client.get(f"/chat/{friend_id}").get_data(as_text=True))
    assert "スタンプ" in inner and "<img" not in inner


def test_older_items_page_back_without_gaps_or_repeats(app):
    friend_id = make_friend(app)
    for i in range(95):  # pairs share a timestamp, so pages split inside equal times
        add_message(app, friend_id, f"m{i}", at=T0 + timedelta(seconds=i // 2))
    client = signed_in_client(app, "staff")
    html = client.get(f"/chat/{friend_id}").get_data(as_text=True)
    items = talk_items(html)
    assert len(items) == 40 and "data-older" in html and "hidden>" not in html.split("data-older")[1][:20]
    seen = [re.search(r"m\d+", inner).group() for *_, inner in items]
    cursor = items[0][2]
    while True:
        page = client.get(f"/chat/{friend_id}/items", query_string={"before": cursor}).get_json()
        older = talk_items(page["html"])
        seen = [re.search(r"m\d+", inner).group() for *_, inner in older] + seen
        cursor = page["cursor"]
        if not page["more"]:
            break
    assert seen == [f"m{i}" for i in range(95)]


def test_polling_returns_only_new_items(app):
    friend_id = make_friend(app)
    add_message(app, friend_id, "old", at=T0)
    client = signed_in_client(app, "staff")
    [(_s, _src, newest, _html)] = talk_items(client.get(f"/chat/{friend_id}").get_data(as_text=True))
    nothing = client.get(f"/chat/{friend_id}/items", query_string={"after": newest}).get_json()
    assert nothing == {"html": "", "cursor": newest, "more": False}
    add_message(app, friend_id, "same time", at=T0)
    add_message(app, friend_id, "new", at=T0 + timedelta(seconds=1))
    fresh = client.get(f"/chat/{friend_id}/items", query_string={"after": newest}).get_json()
    assert [re.search(r'msg-text">([^<]+)', inner).group(1) for *_, inner in talk_items(fresh["html"])] == [
        "same time",
        "new",
    ]
    again = client.get(f"/chat/{friend_id}/items", query_string={"after": fresh["cursor"]}).get_json()
    assert again["html"] == ""
    assert client.get(f"/chat/{friend_id}/items", query_string={"after": "nonsense"}).status_code == 400


def test_a_survey_tap_is_said_in_words(app):
    friend_id = make_friend(app)
    with session_scope(get_engine(app)) as session:
        survey = Survey(title="来店アンケート")
        session.add(survey)
        session.flush()
        for n, data in enumerate([f"sv:s:{survey.id}", "sv:c:1", "shop:open"]):
            session.add(
                WebhookEvent(
                    webhook_event_id=f"tap{n}",
                    event_type="postback",
                    friend_id=friend_id,
                    occurred_at=T0 + timedelta(seconds=n),
                    payload=json.dumps({"type": "postback", "postback": {"data": data}}),
                )
            )
    client = signed_in_client(app, "staff")
    items = talk_items(client.get(f"/chat/{friend_id}").get_data(as_text=True))
    texts = [re.search(r'msg-text">([^<]+)', inner).group(1) for *_, inner in items]
    assert texts == ["アンケート「来店アンケート」を開始", "アンケートを中止", "shop:open"]
