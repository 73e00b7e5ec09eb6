"""Benchmark data around the friends: custom field values, survey answers, link clicks and staff notes.

What bench.segment filters on and bench.export streams out. Each loader covers only the friends added since
its last run (so a repeat run adds nothing twice) and streams their ids in keyset batches (bench.bulk).
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bench.bulk import LoadResult, analyze, friend_ids, index_dropped, last_friend_id, load_table, print_result, utc
from crm.broadcasts.models import Broadcast
from crm.fields.models import FieldDefinition, FieldValue
from crm.friends.models import Friend, Note
from crm.timeutil import utcnow
from crm.tracking.models import LinkClick, TrackedLink
from surveys.models import Survey, SurveyAnswer, SurveyChoice, SurveyQuestion, SurveyResponse, SurveyVersion

UPDATED_BY = "system:bench"

# --- custom field values -------------------------------------------------------------------------------

BENCH_FIELDS = (
    ("bench_plan", "choice", ("free", "silver", "gold", "platinum")),
    ("bench_age", "number", ()),
    ("bench_birthday", "date", ()),
    ("bench_city", "text", ()),
)
FIELD_SHARES = {"bench_plan": 0.6, "bench_age": 0.7, "bench_birthday": 0.4, "bench_city": 0.5}
PLAN_POOL = ("free",) * 6 + ("silver",) * 3 + ("gold",) * 2 + ("platinum",)
CITIES = (
    "東京都渋谷区",
    "東京都新宿区",
    "大阪府大阪市",
    "愛知県名古屋市",
    "福岡県福岡市",
    "北海道札幌市",
    "神奈川県横浜市",
    "京都府京都市",
    "兵庫県神戸市",
    "宮城県仙台市",
)
FIELD_VALUE_COLUMNS = ("friend_id", "field_id", "value", "updated_at", "updated_by")


def generate_field_values(engine: Engine, *, seed: int = 1, now: datetime | None = None) -> LoadResult:
    """Define the bench custom fields (choice, number, date, text) and give friends values in canonical form."""
    with engine.begin() as connection:
        for position, (key, kind, choices) in enumerate(BENCH_FIELDS):
            if connection.execute(select(FieldDefinition.id).where(FieldDefinition.key == key)).scalar() is None:
                connection.execute(
                    FieldDefinition.__table__.insert().values(
                        key=key,
                        label=key,
                        field_type=kind,
                        choices=json.dumps(choices) if choices else None,
                        required=False,
                        position=100 + position,
                        created_at=utcnow(),
                    )
                )
        ids = dict(connection.execute(select(FieldDefinition.key, FieldDefinition.id)).all())
    rng, stamp = random.Random(f"fields:{seed}"), now or utcnow()
    rows = (
        row
        for friend_id in friend_ids(engine, after=last_friend_id(engine, FieldValue.friend_id))
        for row in _field_value_rows(rng, friend_id, ids, stamp)
    )
    with index_dropped(engine, FieldValue.__table__, "ix_field_value_field_value"):
        result = load_table(engine, FieldValue.__table__, FIELD_VALUE_COLUMNS, rows)
    analyze(engine, FieldValue.__table__)
    return result


def _field_value_rows(rng: random.Random, friend_id: int, ids: dict, stamp: datetime) -> Iterator[tuple]:
    """One friend's bench field values, each present with its FIELD_SHARES probability."""
    values = {
        "bench_plan": lambda: rng.choice(PLAN_POOL),
        "bench_age": lambda: str(rng.randint(15, 80)) if rng.random() < 0.9 else _decimal(rng.uniform(15, 80)),
        "bench_birthday": lambda: f"{rng.randint(1950, 2010)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
        "bench_city": lambda: rng.choice(CITIES),
    }
    for key, share in FIELD_SHARES.items():
        if rng.random() < share:
            yield friend_id, ids[key], values[key](), stamp, UPDATED_BY


def _decimal(number: float) -> str:
    """A number with one decimal in the canonical form crm.fields.service stores ("45.0" -> "45")."""
    return format(Decimal(f"{number:.1f}").normalize(), "f")


# --- survey responses and answers ------------------------------------------------------------------------

ANSWER_SHARE = 0.3
SURVEY_TITLE = "ベンチアンケート"
SURVEY_QUESTIONS = (
    ("single", "ご来店のきっかけは？", ("Instagram", "チラシ", "友だち紹介", "通りがかり")),
    ("multiple", "興味のあるもの", ("スキンケア", "ヘアケア", "ネイル", "メイク", "ダイエット")),
    ("text", "ご意見・ご要望", ()),
)
COMMENTS = (
    "とても良かったです",
    "スタッフの方が親切でした😊",
    "駐車場がもう少し広いと嬉しいです",
    "=また来ます",
    "予約がLINEでできて便利",
    "商品の説明が分かりやすかった\n次回も利用します",
)
RESPONSE_COLUMNS = (
    "id",
    "survey_id",
    "version_id",
    "friend_id",
    "channel",
    "status",
    "started_at",
    "updated_at",
    "finished_at",
)
ANSWER_COLUMNS = ("response_id", "question_id", "friend_id", "choice_id", "text", "answered_at")


def generate_survey_answers(
    engine: Engine,
    *,
    share: float = ANSWER_SHARE,
    comment_share: float = 0.0,
    seed: int = 1,
    now: datetime | None = None,
) -> LoadResult:
    """Completed responses to the bench survey from `share` of the new friends: a single choice, one to three
    multiple choices and, in `comment_share` of them, a free-text comment. Returns the answers' load."""
    survey_id, version_id, questions = _ensure_bench_survey(engine)
    after, stamp = last_friend_id(engine, SurveyResponse.friend_id), now or utcnow()
    with engine.connect() as connection:
        first_id = (connection.execute(select(func.max(SurveyResponse.id))).scalar() or 0) + 1

    def responders() -> Iterator[tuple[int, int]]:  # (response id, friend id); the same on every walk
        return enumerate(friend_ids(engine, after=after, share=share, seed=f"answers:{seed}"), first_id)

    load_table(
        engine,
        SurveyResponse.__table__,
        RESPONSE_COLUMNS,
        ((rid, survey_id, version_id, fid, "line", "completed", stamp, stamp, stamp) for rid, fid in responders()),
    )
    _advance_id_sequence(engine, SurveyResponse.__table__.name)
    rng = random.Random(f"answer-rows:{seed}")
    rows = (row for rid, fid in responders() for row in _answer_rows(rng, rid, fid, questions, stamp, comment_share))
    result = load_table(engine, SurveyAnswer.__table__, ANSWER_COLUMNS, rows)
    analyze(engine, SurveyResponse.__table__)
    analyze(engine, SurveyAnswer.__table__)
    return result


def _answer_rows(
    rng: random.Random, response_id: int, friend_id: int, questions, stamp: datetime, comment_share: float
) -> Iterator[tuple]:
    for question_id, kind, choice_ids in questions:
        if kind == "text":
            if rng.random() < comment_share:
                yield response_id, question_id, friend_id, None, rng.choice(COMMENTS), stamp
            continue
        picked = [rng.choice(choice_ids)] if kind == "single" else rng.sample(choice_ids, rng.randint(1, 3))
        for choice_id in sorted(picked):
            yield response_id, question_id, friend_id, choice_id, None, stamp


def _ensure_bench_survey(engine: Engine) -> tuple[int, int, list]:
    """The bench survey's id, its live version's id and [(question id, kind, [choice ids])]."""
    with Session(engine) as session:
        survey = session.exec(select(Survey).where(Survey.title == SURVEY_TITLE)).scalars().first()
        if survey is None:
            survey = Survey(title=SURVEY_TITLE, status="published")
            session.add(survey)
            session.flush()
            version = SurveyVersion(survey_id=survey.id, number=1, state="live", published_at=utcnow())
            session.add(version)
            session.flush()
            for position, (kind, text_, labels) in enumerate(SURVEY_QUESTIONS):
                question = SurveyQuestion(
                    version_id=version.id, position=position, kind=kind, text=text_, required=kind != "text"
                )
                session.add(question)
                session.flush()
                session.add_all(
                    SurveyChoice(question_id=question.id, position=i, label=label) for i, label in enumerate(labels)
                )
            session.commit()
        version_id = session.exec(select(SurveyVersion.id).where(SurveyVersion.survey_id == survey.id)).scalar()
        questions = (
            session.exec(
                select(SurveyQuestion).where(SurveyQuestion.version_id == version_id).order_by(SurveyQuestion.position)
            )
            .scalars()
            .all()
        )
        found = [
            (
                q.id,
                q.kind,
                list(
                    session.exec(
                        select(SurveyChoice.id).where(SurveyChoice.question_id == q.id).order_by(SurveyChoice.id)
                    ).scalars()
                ),
            )
            for q in questions
        ]
        return survey.id, version_id, found


def _advance_id_sequence(engine: Engine, table: str) -> None:
    """Rows were given explicit ids: on PostgreSQL move the id sequence past them (SQLite needs nothing)."""
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), max(id)) FROM {table}"))


# --- link clicks ------------------------------------------------------------------------------------------

CLICK_BROADCASTS = 20
CLICK_SHARES = (0.05, 0.02)  # per broadcast: share of friends clicking its first / second link
CLICK_COLUMNS = ("link_id", "friend_id", "broadcast_id", "clicked_at", "user_agent")
USER_AGENTS = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Line/14.3.0",
    "Mozilla/5.0 (Linux; Android 14; SH-M26) AppleWebKit/537.36 Chrome/123.0 Mobile Line/14.2.1",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 16_6 like Mac OS X) AppleWebKit/605.1.15 Line/13.21.0",
    None,
)  # a few clients send no User-Agent


def generate_clicks(
    engine: Engine, *, broadcasts: int = CLICK_BROADCASTS, seed: int = 1, now: datetime | None = None
) -> LoadResult:
    """Create `broadcasts` sent bench broadcasts with two tracked links each, and clicks on them from the new
    friends (some click more than once), each with a LINE in-app browser's user agent."""
    links = _bench_broadcast_links(engine, broadcasts)
    rng, now_ts = random.Random(f"clicks:{seed}"), (now or utcnow()).timestamp()
    rows = (
        row
        for friend_id in friend_ids(engine, after=last_friend_id(engine, LinkClick.friend_id))
        for row in _click_rows(rng, friend_id, links, now_ts)
    )
    table = LinkClick.__table__
    with index_dropped(
        engine, table, "ix_link_click_link_friend", "ix_link_click_friend_clicked", "ix_link_click_broadcast_friend"
    ):
        result = load_table(engine, table, CLICK_COLUMNS, rows)
    analyze(engine, table)
    return result


def _bench_broadcast_links(engine: Engine, broadcasts: int) -> list[tuple[int, int, int]]:
    """Insert sent broadcasts with two tracked links each; return [(broadcast id, link index, link id)]."""
    links = []
    with engine.begin() as connection:
        for number in range(broadcasts):
            broadcast_id = connection.execute(
                Broadcast.__table__.insert()
                .values(
                    name=f"ベンチ配信 {number + 1}",
                    messages="[]",
                    status="sent",
                    track_links=True,
                    control_percent=0,
                    snapshot_done=True,
                    snapshot_cursor=0,
                    created_at=utcnow(),
                    updated_at=utcnow(),
                )
                .returning(Broadcast.__table__.c.id)
            ).scalar_one()
            for index in range(len(CLICK_SHARES)):
                links.append(
                    (
                        broadcast_id,
                        index,
                        connection.execute(
                            TrackedLink.__table__.insert()
                            .values(
                                destination=f"https://shop.example.jp/{broadcast_id}/{index}",
                                source="broadcast",
                                broadcast_id=broadcast_id,
                                created_at=utcnow(),
                            )
                            .returning(TrackedLink.__table__.c.id)
                        ).scalar_one(),
                    )
                )
    return links


def _click_rows(rng: random.Random, friend_id: int, links, now_ts: float) -> Iterator[tuple]:
    for broadcast_id, index, link_id in links:
        if rng.random() < CLICK_SHARES[index]:
            for _ in range(1 if rng.random() < 0.8 else 2):
                yield link_id, friend_id, broadcast_id, utc(now_ts - rng.uniform(0, 8e6)), rng.choice(USER_AGENTS)


# --- staff notes ------------------------------------------------------------------------------------------

NOTE_SHARE = 0.2
NOTE_TEXTS = (
    "電話は夜だけ",
    "来店時にクーポン利用",
    "=要フォロー",
    "誕生日プレゼント送付済",
    "問い合わせ対応済み、返品希望",
    "VIP対応",
    "次回来店予約あり",
    "アレルギーあり（ナッツ）\n要確認",
)
NOTE_COLUMNS = ("friend_id", "body", "created_at")


def generate_notes(
    engine: Engine, *, share: float = NOTE_SHARE, seed: int = 1, now: datetime | None = None
) -> LoadResult:
    """Give `share` of the new friends one staff note (a few two), written over the past year."""
    rng, now_ts = random.Random(f"notes:{seed}"), (now or utcnow()).timestamp()
    ids = friend_ids(engine, after=last_friend_id(engine, Note.friend_id), share=share, seed=f"noted:{seed}")
    rows = (
        (friend_id, rng.choice(NOTE_TEXTS), utc(now_ts - rng.uniform(0, 3.2e7)))
        for friend_id in ids
        for _ in range(1 if rng.random() < 0.85 else 2)
    )
    result = load_table(engine, Note.__table__, NOTE_COLUMNS, rows)
    analyze(engine, Note.__table__)
    return result


# --- all of it --------------------------------------------------------------------------------------------


def generate_segment_data(
    engine: Engine,
    *,
    seed: int = 1,
    note_share: float = 0.0,
    comment_share: float = 0.0,
    report: Callable[[LoadResult], object] | None = print_result,
) -> list[LoadResult]:
    """Field values, survey answers and clicks (what segments filter on) for friends that have none yet, and
    with `note_share` notes and `comment_share` free-text answers (what the export also streams). `report`
    gets each result as soon as it is loaded (loads of 1M friends take a while)."""
    loads = [
        lambda: generate_field_values(engine, seed=seed),
        lambda: generate_survey_answers(engine, comment_share=comment_share, seed=seed),
        lambda: generate_clicks(engine, seed=seed),
    ]
    if note_share:
        loads.append(lambda: generate_notes(engine, share=note_share, seed=seed))
    results = []
    for load in loads:
        results.append(load())
        if report:
            report(results[-1])
    return results


# --- purchases (conversions with a yen value) ---------------------------------------------------------------

PURCHASE_COLUMNS = ("point_id", "friend_id", "value", "order_id", "occurred_at", "recorded_at", "source")
PURCHASE_DAYS = 730
PRICES = (500, 980, 1480, 1980, 2980, 3980, 5800, 9800, 19800)


def generate_purchases(engine: Engine, count: int, *, seed: int = 1, now: datetime | None = None) -> LoadResult:
    """Add `count` purchases on the bench point 「ベンチ購入」 (yen, every time), spread over the friends with a
    long tail (a few friends buy often, most once or never), over the past two years; order ids continue from
    the last run's."""
    from crm.conversions.models import Conversion, ConversionPoint

    with engine.begin() as connection:
        point_id = connection.execute(select(ConversionPoint.id).where(ConversionPoint.name == "ベンチ購入")).scalar()
        if point_id is None:
            point_id = connection.execute(
                ConversionPoint.__table__.insert()
                .values(
                    name="ベンチ購入",
                    value_type="yen",
                    counting="every",
                    allowed_origins="",
                    actions="[]",
                    created_at=utcnow(),
                    updated_at=utcnow(),
                )
                .returning(ConversionPoint.__table__.c.id)
            ).scalar_one()
        low, high = connection.execute(select(func.min(Friend.id), func.max(Friend.id))).one()
        done = connection.execute(select(func.count()).select_from(Conversion.__table__)).scalar() or 0
    rng, now_ts = random.Random(f"purchases:{seed}:{done}"), (now or utcnow()).timestamp()
    span = high - low + 1

    def rows() -> Iterator[tuple]:
        for number in range(done, done + count):
            friend_id = low + int(span * rng.random() ** 2)  # skewed: low ids buy more often
            at = utc(now_ts - rng.random() ** 1.5 * PURCHASE_DAYS * 86400)
            yield point_id, friend_id, rng.choice(PRICES) * rng.randint(1, 3), f"B{number}", at, at, "import"

    table = Conversion.__table__
    with index_dropped(engine, table, "ix_conversion_friend_occurred", "ix_conversion_point_occurred"):
        result = load_table(engine, table, PURCHASE_COLUMNS, rows())
    analyze(engine, table)
    return result
