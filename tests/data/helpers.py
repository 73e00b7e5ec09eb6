"""Helpers for the data tests: a friend with something in every table, a scan of every stored text."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import LargeBinary, inspect, text
from sqlmodel import select

from crm.db import get_engine, session_scope
from crm.fields import service as fields
from crm.fields.models import FieldDefinition
from crm.friends import notes
from crm.friends.models import Friend, Message
from crm.outbound.models import RelayItem, WebhookDelivery, WebhookEndpoint
from crm.routes.models import InflowRoute, RouteArrival, RouteVisit
from crm.staff.audit import Actor
from crm.tags import admin as tag_admin
from crm.tags.service import add_tag
from crm.timeutil import utcnow
from crm.tracking.models import LinkClick, LinkToken, TrackedLink
from crm.webhook.models import FailedWebhookEvent, WebhookEvent
from surveys.models import Survey, SurveyAnswer, SurveyChoice, SurveyQuestion, SurveyResponse, SurveyVersion

SYSTEM = Actor.system("test")


def user_id(n: int) -> str:
    """A LINE-shaped user id."""
    return f"U{n:032x}"


@dataclass
class Seeded:
    friend_id: int
    other_id: int
    secrets: dict[str, str]  # what erasure must remove, by kind
    tag_id: int
    field_ids: dict[str, int]


def seed(app, *, name: str = "消える花子Erin") -> Seeded:
    """Two friends; the first has a profile, tag, fields, a note, messages, a webhook event, a survey
    response with a free-text and a chosen answer, and a tracked click with a user agent."""
    uid = user_id(0xE1)
    secrets = {
        "name": name,
        "reading": "きえるはなこえりん",
        "user_id": uid,
        "picture": "https://profile.example/pic-e1",
        "status_message": "秘密のステータスmsg",
        "note": "個別メモ: 電話は夜だけ42",
        "field": "東京都渋谷区1-2-3",
        "incoming": "受信メッセージ本文xyz",
        "outgoing": "送信メッセージ本文abc",
        "answer": "自由回答テキストqwe",
        "user_agent": "SecretAgent/9.9 (iPhone)",
    }
    with session_scope(get_engine(app)) as s:
        friend = Friend(
            line_user_id=uid,
            display_name=name,
            reading=secrets["reading"],
            picture_url=secrets["picture"],
            language="ja",
            status_message=secrets["status_message"],
            last_followed_at=utcnow(),
            follow_count=1,
        )
        other = Friend(line_user_id=user_id(0xE2), display_name="残る太郎", last_followed_at=utcnow())
        address = FieldDefinition(key="address", label="住所", field_type="text")
        rank = FieldDefinition(key="rank", label="会員ランク", field_type="choice", choices='["gold", "silver"]')
        points = FieldDefinition(key="points", label="ポイント", field_type="number")
        s.add_all([friend, other, address, rank, points])
        s.flush()
        tag = tag_admin.create_tag(s, name="VIP", actor=SYSTEM)
        for fid in (friend.id, other.id):
            add_tag(s, friend_id=fid, tag_id=tag.id, actor=SYSTEM)
        fields.set_field_value(s, friend_id=friend.id, field_id=address.id, raw_value=secrets["field"], actor=SYSTEM)
        fields.set_field_value(s, friend_id=friend.id, field_id=rank.id, raw_value="gold", actor=SYSTEM)
        notes.create_note(s, friend_id=friend.id, body=secrets["note"], actor=SYSTEM)
        s.add_all(
            [
                Message(friend_id=friend.id, direction="in", message_type="text", text=secrets["incoming"]),
                Message(friend_id=friend.id, direction="out", message_type="text", text=secrets["outgoing"]),
                WebhookEvent(
                    webhook_event_id="ev-e1",
                    event_type="message",
                    source_type="user",
                    source_id=uid,
                    line_user_id=uid,
                    friend_id=friend.id,
                    occurred_at=utcnow(),
                    payload=f'{{"source": {{"userId": "{uid}"}}, "text": "{secrets["incoming"]}"}}',
                ),
                FailedWebhookEvent(
                    webhook_event_id="ev-e1-failed",
                    event_type="message",
                    line_user_id=uid,
                    payload=f'{{"source": {{"userId": "{uid}"}}, "text": "{secrets["incoming"]}"}}',
                    error_class="RuntimeError",
                    error_message="handler failed",
                ),
            ]
        )
        _survey(s, friend.id, secrets["answer"])
        link = TrackedLink(destination="https://shop.example/sale", source="broadcast:1", broadcast_id=1)
        s.add(link)
        s.flush()
        s.add_all(
            [
                LinkToken(token="tok-e1", link_id=link.id, friend_id=friend.id),
                LinkClick(link_id=link.id, friend_id=friend.id, broadcast_id=1, user_agent=secrets["user_agent"]),
            ]
        )
        _outbound(s, uid)
        _route_arrival(s, friend.id, uid)
        s.flush()
        return Seeded(
            friend.id, other.id, secrets, tag.id, {"address": address.id, "rank": rank.id, "points": points.id}
        )


def _route_arrival(s, friend_id: int, uid: str) -> None:
    """A LINE Login through an inflow route, which recorded the friend's LINE user id (crm.routes)."""
    route = InflowRoute(name="店頭ポスター", code="seed-route")
    s.add(route)
    s.flush()
    visit = RouteVisit(route_id=route.id)
    s.add(visit)
    s.flush()
    s.add(RouteArrival(route_id=route.id, visit_id=visit.id, line_user_id=uid, friend_id=friend_id, kind="new"))


def _outbound(s, uid: str) -> None:
    """An outbound webhook delivery and a relayed LINE body naming the friend (crm.outbound.outbox)."""
    endpoint = WebhookEndpoint(url="https://receiver.example/hook", events="friend.followed", secret="s" * 32)
    s.add(endpoint)
    s.flush()
    s.add_all(
        [
            WebhookDelivery(
                endpoint_id=endpoint.id,
                event_id="evt-e1",
                event_type="friend.followed",
                body=f'{{"type": "friend.followed", "friend": {{"line_user_id": "{uid}"}}}}',
            ),
            RelayItem(body=f'{{"events": [{{"source": {{"userId": "{uid}"}}}}]}}'.encode(), signature="sig"),
        ]
    )


def _survey(s, friend_id: int, answer: str) -> None:
    survey = Survey(title="来店アンケート", status="published")
    s.add(survey)
    s.flush()
    version = SurveyVersion(survey_id=survey.id, number=1, state="live")
    s.add(version)
    s.flush()
    free = SurveyQuestion(version_id=version.id, kind="text", text="ご意見")
    single = SurveyQuestion(version_id=version.id, kind="single", text="満足度", position=1)
    s.add_all([free, single])
    s.flush()
    choice = SurveyChoice(question_id=single.id, label="満足")
    response = SurveyResponse(
        survey_id=survey.id, version_id=version.id, friend_id=friend_id, channel="chat", status="completed"
    )
    s.add_all([choice, response])
    s.flush()
    s.add_all(
        [
            SurveyAnswer(response_id=response.id, question_id=free.id, friend_id=friend_id, text=answer),
            SurveyAnswer(response_id=response.id, question_id=single.id, friend_id=friend_id, choice_id=choice.id),
        ]
    )


def scan(app, needles: list[str]) -> list[tuple[str, str, str]]:
    """(table, column, needle) for every stored value containing a needle, in EVERY table of the database
    (read from the database itself, so SQLite's FTS tables and tables added later are included)."""
    engine = get_engine(app)
    found = []
    with engine.connect() as connection:
        inspector = inspect(connection)
        for table in inspector.get_table_names():
            for column in inspector.get_columns(table):
                value = f'CAST("{column["name"]}" AS TEXT)'
                if connection.dialect.name == "postgresql" and isinstance(column["type"], LargeBinary):
                    value = f"convert_from(\"{column['name']}\", 'UTF8')"  # bytea casts to hex, not text
                for needle in needles:
                    query = text(f'SELECT count(*) FROM "{table}" WHERE {value} LIKE :n')
                    if connection.execute(query, {"n": f"%{needle}%"}).scalar():
                        found.append((table, column["name"], needle))
    return found


def friend(app, friend_id: int) -> Friend:
    with session_scope(get_engine(app)) as s:
        row = s.get(Friend, friend_id)
        s.expunge(row)
        return row


def user_ids(app) -> set[str]:
    with session_scope(get_engine(app)) as s:
        return set(s.exec(select(Friend.line_user_id)).all())
