"""Realistic bulk data for benchmarks, written with COPY (PostgreSQL) or batched executemany (SQLite).

Each table has a row generator (`<table>_rows`) and a loader (`generate_<table>`) built on
`load_table`, so later benchmarks add tables (tags, answers, clicks) the same way.

    python -m bench.generate --database-url URL --friends 1000000 [--tags-per-friend 10] [--segment-data]
"""
from __future__ import annotations

import argparse
import base64
import itertools
import random
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Callable, Iterable, Iterator, Sequence

from sqlalchemy import DateTime, Table, func, select, text, update
from sqlalchemy.engine import Engine

from crm import migrate
from crm.db import make_engine
from crm.models import Friend, FriendStatus, FriendTag, Tag, TagFolder
from crm.timeutil import utcnow

SQLITE_BATCH_ROWS = 50_000
SQLITE_LOAD_PRAGMAS = ("PRAGMA synchronous=OFF", "PRAGMA cache_size=-262144", "PRAGMA temp_store=MEMORY")
HISTORY_SECONDS = timedelta(days=730).total_seconds()
BLOCKED_SHARE = 0.10
PROFILE_FETCHED_SHARE = 0.97

FAMILY_NAMES = ("佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "山本", "中村", "小林", "加藤", "吉田", "山田",
                "佐々木", "山口", "松本", "井上", "木村", "林", "斎藤", "清水", "山崎", "森", "池田", "橋本")
# (kanji, hiragana, katakana, romaji) of common given names.
GIVEN_NAMES = (("花子", "はなこ", "ハナコ", "Hanako"), ("太郎", "たろう", "タロウ", "Taro"),
               ("陽菜", "ひな", "ヒナ", "Hina"), ("蓮", "れん", "レン", "Ren"), ("結衣", "ゆい", "ユイ", "Yui"),
               ("大翔", "ひろと", "ヒロト", "Hiroto"), ("さくら", "さくら", "サクラ", "Sakura"),
               ("翔太", "しょうた", "ショウタ", "Shota"), ("美咲", "みさき", "ミサキ", "Misaki"),
               ("健太", "けんた", "ケンタ", "Kenta"), ("優子", "ゆうこ", "ユウコ", "Yuko"),
               ("拓也", "たくや", "タクヤ", "Takuya"), ("愛", "あい", "アイ", "Ai"), ("誠", "まこと", "マコト", "Makoto"),
               ("由美", "ゆみ", "ユミ", "Yumi"), ("直樹", "なおき", "ナオキ", "Naoki"), ("葵", "あおい", "アオイ", "Aoi"),
               ("湊", "みなと", "ミナト", "Minato"), ("真由美", "まゆみ", "マユミ", "Mayumi"), ("恵", "めぐみ", "メグミ", "Megumi"))
EMOJI = ("🌸", "✨", "🍀", "☀️", "🐶", "🐱", "🎵", "💐", "⚽", "🍙")
STATUS_MESSAGES = ("よろしくお願いします", "毎日がんばる！", "ありがとう", "旅行好き✈️", "猫と暮らしています",
                   "今日も元気に", "一期一会", "Life is good", "ダイエット中", "子育て奮闘中")
# Weighted pools: rng.choice over a pool is the fastest weighted draw.
LANGUAGES = ("ja",) * 92 + ("en",) * 4 + ("zh-TW",) * 2 + ("th",) + ("ko",)
HEX = "0123456789abcdef"


@dataclass(frozen=True)
class LoadResult:
    """How many rows went into which table, and how long it took."""

    table: str
    rows: int
    seconds: float

    @property
    def rows_per_second(self) -> float:
        """Insert rate."""
        return self.rows / self.seconds if self.seconds else 0.0

    def __str__(self) -> str:
        return f"{self.table}: {self.rows:,} rows in {self.seconds:.1f} s ({self.rows_per_second:,.0f} rows/s)"


def load_table(engine: Engine, table: Table, columns: Sequence[str], rows: Iterable[tuple]) -> LoadResult:
    """Bulk insert rows (tuples in `columns` order) and time it."""
    started = time.perf_counter()
    count = bulk_insert(engine, table, columns, rows)
    return LoadResult(table.name, count, time.perf_counter() - started)


def bulk_insert(engine: Engine, table: Table, columns: Sequence[str], rows: Iterable[tuple]) -> int:
    """Insert rows in one transaction: COPY on PostgreSQL, executemany batches on SQLite."""
    if engine.dialect.name == "postgresql":
        return _copy(engine, table, columns, rows)
    return _executemany(engine, table, columns, rows)


def _copy(engine: Engine, table: Table, columns: Sequence[str], rows: Iterable[tuple]) -> int:
    """Stream rows through psycopg 3 COPY FROM STDIN."""
    statement = f"COPY {_quoted(table.name)} ({', '.join(map(_quoted, columns))}) FROM STDIN"
    count = 0
    raw = engine.raw_connection()
    try:
        with raw.driver_connection.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)
                count += 1
        raw.commit()
    finally:
        raw.close()
    return count


def _executemany(engine: Engine, table: Table, columns: Sequence[str], rows: Iterable[tuple]) -> int:
    """Insert large executemany batches in one transaction, with syncing off while loading."""
    statement = (f"INSERT INTO {_quoted(table.name)} ({', '.join(map(_quoted, columns))}) "
                 f"VALUES ({', '.join('?' * len(columns))})")
    encoded = map(_sqlite_encoder(table, columns), rows)
    count = 0
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        for pragma in SQLITE_LOAD_PRAGMAS:
            cursor.execute(pragma)
        while batch := list(itertools.islice(encoded, SQLITE_BATCH_ROWS)):
            cursor.executemany(statement, batch)
            count += len(batch)
        raw.commit()
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()
    finally:
        raw.close()
    return count


def _sqlite_encoder(table: Table, columns: Sequence[str]) -> Callable[[tuple], tuple]:
    """Return a row encoder that writes datetimes as the naive UTC text SQLAlchemy stores in SQLite."""
    positions = [index for index, name in enumerate(columns) if _is_datetime(table.c[name].type)]

    def encode(row: tuple) -> tuple:
        row = list(row)
        for index in positions:
            value = row[index]
            if value is not None:
                if value.utcoffset():
                    value = value.astimezone(timezone.utc)
                row[index] = value.isoformat(" ", "microseconds")[:26]  # drop "+00:00"
        return tuple(row)

    return encode


def _is_datetime(column_type) -> bool:
    return isinstance(getattr(column_type, "impl_instance", column_type), DateTime)


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def row_count(engine: Engine, table: Table) -> int:
    """Number of rows in a table."""
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(table)).scalar_one()


def analyze(engine: Engine, table: Table) -> None:
    """Refresh PostgreSQL planner statistics after a bulk load (autovacuum would, later)."""
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.execute(text(f"ANALYZE {_quoted(table.name)}"))


# --- friends ---------------------------------------------------------------------------------------

FRIEND_COLUMNS = ("line_user_id", "display_name", "picture_url", "language", "status_message", "status",
                  "follow_count", "first_followed_at", "last_followed_at", "blocked_at", "last_interaction_at",
                  "profile_fetched_at", "profile_fetch_due_at", "profile_fetch_attempts", "created_at")


def generate_friends(engine: Engine, count: int, *, seed: int = 1, now: datetime | None = None) -> LoadResult:
    """Insert `count` realistic friends; repeat calls append new, distinct friends."""
    table = Friend.__table__
    rng = random.Random(f"friends:{seed}:{row_count(engine, table)}")
    result = load_table(engine, table, FRIEND_COLUMNS, friend_rows(count, rng=rng, now=now or utcnow()))
    analyze(engine, table)
    return result


def friend_rows(count: int, *, rng: random.Random, now: datetime) -> Iterator[tuple]:
    """Yield `count` friend rows in FRIEND_COLUMNS order, followed over the two years before `now`."""
    now_ts = now.timestamp()
    for _ in range(count):
        yield _friend_row(rng, now_ts)


def _friend_row(rng: random.Random, now: float) -> tuple:
    """One friend as LINE and the CRM would have left it."""
    blocked, follow_count, first, last, blocked_at, interaction = _follow_history(rng, now)
    fetched = rng.random() < PROFILE_FETCHED_SHARE
    name, picture, language, message = _profile(rng) if fetched else (None, None, None, None)
    pending = not fetched and not blocked
    return (
        line_user_id(rng), name, picture, language, message,
        FriendStatus.BLOCKED if blocked else FriendStatus.FOLLOWING, follow_count,
        _utc(first), _utc(last), _utc(blocked_at), _utc(interaction),
        _utc(last + rng.uniform(0.2, 5.0)) if fetched else None,
        _utc(now - rng.uniform(0, 3600)) if pending else None,
        rng.randint(0, 3) if pending else 0,
        _utc(first + rng.uniform(0.01, 1.0)),
    )


def _follow_history(rng: random.Random, now: float) -> tuple:
    """Blocked?, follow count and the follow, block and interaction times (epoch seconds) of one friend."""
    first = now - HISTORY_SECONDS * rng.random() ** 1.4  # more friends joined recently
    follow_count = 1 if rng.random() < 0.85 else rng.choice((2, 2, 2, 3))
    last = first if follow_count == 1 else rng.uniform(first, now)
    blocked = rng.random() < BLOCKED_SHARE
    if blocked:
        blocked_at = rng.uniform(last, now)
    elif follow_count > 1:
        blocked_at = rng.uniform(first, last)  # blocked once, then followed again
    else:
        blocked_at = None
    end = blocked_at if blocked else now
    interaction = last if rng.random() < 0.4 else rng.uniform(last, end)
    return blocked, follow_count, first, last, blocked_at, interaction


def _profile(rng: random.Random) -> tuple:
    """Display name, picture URL, language and status message as LINE's profile API gives them."""
    picture = None
    if rng.random() < 0.88:
        picture = "https://profile.line-scdn.net/0h" + "".join(rng.choices(HEX, k=48))
    message = rng.choice(STATUS_MESSAGES) if rng.random() < 0.3 else None
    return display_name(rng), picture, rng.choice(LANGUAGES), message


def display_name(rng: random.Random) -> str:
    """A Japanese-ish LINE display name: kanji, kana, romaji, sometimes an emoji."""
    family = rng.choice(FAMILY_NAMES)
    kanji, hiragana, katakana, romaji = rng.choice(GIVEN_NAMES)
    style = rng.random()
    if style < 0.40:
        return f"{family} {kanji}" if rng.random() < 0.5 else family + kanji
    if style < 0.60:
        return hiragana if rng.random() < 0.7 else hiragana + "ちゃん"
    if style < 0.70:
        return katakana
    if style < 0.85:
        return romaji if rng.random() < 0.5 else f"{romaji} {family[0]}."
    return kanji + rng.choice(EMOJI)


def line_user_id(rng: random.Random) -> str:
    """A LINE user id: "U" and 32 hex digits."""
    return f"U{rng.getrandbits(128):032x}"


def _utc(epoch_seconds: float | None) -> datetime | None:
    return None if epoch_seconds is None else datetime.fromtimestamp(epoch_seconds, timezone.utc)


# --- tags --------------------------------------------------------------------------------------------

TAG_FOLDERS = {
    "流入経路": ("QRコード", "Instagram", "店頭POP", "チラシ", "Web広告", "友だち紹介", "イベント"),
    "属性": ("男性", "女性", "10代", "20代", "30代", "40代", "50代以上", "学生", "会社員", "主婦"),
    "興味": ("スキンケア", "ヘアケア", "ネイル", "メイク", "ダイエット", "ファッション", "グルメ", "旅行",
             "アウトドア", "ペット"),
    "購買": ("購入あり", "リピーター", "VIP", "クーポン利用", "EC会員", "休眠", "初回購入", "高単価"),
    "アンケート": ("アンケート回答済", "満足", "不満", "要フォロー", "キャンペーン応募"),
    "配信": ("配信停止希望", "セール通知希望", "新商品通知希望", "誕生月特典", "予約あり", "来店済", "キャンセル歴",
             "問い合わせあり", "当選者", "テスト"),
}
TAG_COLORS = ("#06c755", "#0969da", "#8250df", "#bf3989", "#cf222e", "#bc4c00", "#4d2d00", "#1a7f37")
RARE_TAG_SHARES = (0.01, 0.005, 0.002, 0.001, 0.0002)  # the last tags: small segments (winners, test group)
TAG_LINK_COLUMNS = ("friend_id", "tag_id", "added_at", "added_by")
TAG_ADDED_BY = "system:bench"


def generate_tags(engine: Engine, *, per_friend: float = 10, seed: int = 1, now: datetime | None = None) -> LoadResult:
    """Create ~50 bench tags in folders, then give each friend not yet tagged ~per_friend of them.

    Tag popularity falls geometrically with a rare tail (from ~75% of friends down to 0.02%), and each
    tag's friend_count is increased by the links added. The (tag_id, friend_id) index is rebuilt after the
    load, which is much faster than maintaining it row by row.
    """
    tag_ids = _ensure_bench_tags(engine)
    shares = list(zip(tag_ids, tag_shares(len(tag_ids), per_friend)))
    counts: Counter = Counter()
    rows = tag_link_rows(_untagged_friend_ids(engine), shares, rng=random.Random(f"tags:{seed}"),
                         now=now or utcnow(), counts=counts)
    with _index_dropped(engine, FriendTag.__table__, "ix_friend_tag_tag_friend"):
        result = load_table(engine, FriendTag.__table__, TAG_LINK_COLUMNS, rows)
    with engine.begin() as connection:
        for tag_id, added in counts.items():
            connection.execute(update(Tag).where(Tag.id == tag_id).values(friend_count=Tag.friend_count + added))
    analyze(engine, FriendTag.__table__)
    analyze(engine, Tag.__table__)
    return result


def tag_shares(tag_count: int, per_friend: float) -> list[float]:
    """The share of friends carrying each tag: a geometric head scaled to per_friend tags, then the rare tail."""
    rare = list(RARE_TAG_SHARES[:max(0, tag_count - 1)])
    head = [0.925 ** rank for rank in range(tag_count - len(rare))]
    scale = (per_friend - sum(rare)) / sum(head)
    return [min(0.95, share * scale) for share in head] + rare


def tag_link_rows(friend_ids: Iterable[int], shares: Sequence[tuple[int, float]], *, rng: random.Random,
                  now: datetime, counts: Counter) -> Iterator[tuple]:
    """Yield friend_tag rows in primary-key order; each tag is on a friend with its share's probability."""
    ordered = sorted(shares)
    now_ts, span = now.timestamp(), timedelta(days=365).total_seconds()
    for friend_id in friend_ids:
        chosen = [tag_id for tag_id, share in ordered if rng.random() < share]
        counts.update(chosen)
        added_at = _utc(now_ts - span * rng.random())
        for tag_id in chosen:
            yield friend_id, tag_id, added_at, TAG_ADDED_BY


def _ensure_bench_tags(engine: Engine) -> list[int]:
    """Create the bench folders and tags that are missing; return the ids of all bench tags."""
    with engine.begin() as connection:
        for position, (folder_name, tag_names) in enumerate(TAG_FOLDERS.items()):
            folder_id = connection.execute(select(TagFolder.id).where(TagFolder.name == folder_name)).scalar()
            if folder_id is None:
                folder_id = connection.execute(TagFolder.__table__.insert().values(
                    name=folder_name, position=position).returning(TagFolder.id)).scalar_one()
            for index, name in enumerate(tag_names):
                if connection.execute(select(Tag.id).where(Tag.name == name)).scalar() is None:
                    connection.execute(Tag.__table__.insert().values(
                        name=name, folder_id=folder_id, color=TAG_COLORS[index % len(TAG_COLORS)],
                        friend_count=0, created_at=utcnow()))
        names = [name for tag_names in TAG_FOLDERS.values() for name in tag_names]
        return list(connection.execute(select(Tag.id).where(Tag.name.in_(names)).order_by(Tag.id)).scalars())


def _untagged_friend_ids(engine: Engine) -> list[int]:
    """Ids of the friends after the last tagged one (so a repeat run tags only friends added since)."""
    with engine.connect() as connection:
        last = connection.execute(select(func.max(FriendTag.friend_id))).scalar() or 0
        return list(connection.execute(select(Friend.id).where(Friend.id > last).order_by(Friend.id)).scalars())


@contextmanager
def _index_dropped(engine: Engine, table: Table, name: str):
    """Drop a secondary index during a bulk load and build it again afterwards."""
    index = next(index for index in table.indexes if index.name == name)
    with engine.begin() as connection:
        index.drop(connection)
    try:
        yield
    finally:
        with engine.begin() as connection:
            index.create(connection)


# --- tracked links ----------------------------------------------------------------------------------

LINK_TOKEN_COLUMNS = ("token", "link_id", "friend_id")


def generate_link_tokens(engine: Engine, *, destination: str = "https://shop.example.jp/sale?utm_source=line",
                         broadcast_id: int | None = 1, seed: int = 1) -> tuple[LoadResult, list[str]]:
    """Create one tracked link (as a broadcast would) and a token for every friend; return the tokens.

    Tokens have the service's shape (16 random bytes, base64url) but come from a seeded generator.
    """
    from crm.models import LinkToken, TrackedLink

    with engine.begin() as connection:
        link_id = connection.execute(TrackedLink.__table__.insert().values(
            destination=destination, source=f"broadcast:{broadcast_id}", broadcast_id=broadcast_id,
            created_at=utcnow()).returning(TrackedLink.__table__.c.id)).scalar_one()
        friend_ids = list(connection.execute(select(Friend.id).order_by(Friend.id)).scalars())
    rng = random.Random(f"links:{seed}:{link_id}")
    tokens = [base64.urlsafe_b64encode(rng.randbytes(16)).rstrip(b"=").decode() for _ in friend_ids]
    rows = ((token, link_id, friend_id) for token, friend_id in zip(tokens, friend_ids))
    result = load_table(engine, LinkToken.__table__, LINK_TOKEN_COLUMNS, rows)
    analyze(engine, LinkToken.__table__)
    return result, tokens


# --- custom field values, survey answers and clicks (segment benchmarks) ------------------------------

BENCH_FIELDS = (("bench_plan", "choice", ("free", "silver", "gold", "platinum")), ("bench_age", "number", ()),
                ("bench_birthday", "date", ()), ("bench_city", "text", ()))
FIELD_SHARES = {"bench_plan": 0.6, "bench_age": 0.7, "bench_birthday": 0.4, "bench_city": 0.5}
PLAN_POOL = ("free",) * 6 + ("silver",) * 3 + ("gold",) * 2 + ("platinum",)
CITIES = ("東京都渋谷区", "東京都新宿区", "大阪府大阪市", "愛知県名古屋市", "福岡県福岡市", "北海道札幌市",
          "神奈川県横浜市", "京都府京都市", "兵庫県神戸市", "宮城県仙台市")
FIELD_VALUE_COLUMNS = ("friend_id", "field_id", "value", "updated_at", "updated_by")
ANSWER_SHARE = 0.3
SURVEY_QUESTIONS = (("single", "ご来店のきっかけは？", ("Instagram", "チラシ", "友だち紹介", "通りがかり")),
                    ("multiple", "興味のあるもの", ("スキンケア", "ヘアケア", "ネイル", "メイク", "ダイエット")))
RESPONSE_COLUMNS = ("id", "survey_id", "version_id", "friend_id", "channel", "status", "started_at",
                    "updated_at", "finished_at")
ANSWER_COLUMNS = ("response_id", "question_id", "friend_id", "choice_id", "answered_at")
CLICK_BROADCASTS = 20
CLICK_SHARES = (0.05, 0.02)  # per broadcast: share of friends clicking its first / second link
CLICK_COLUMNS = ("link_id", "friend_id", "broadcast_id", "clicked_at", "user_agent")


def _friend_ids_after(engine: Engine, column) -> list[int]:
    """Ids of the friends after the largest friend id in `column` (repeat runs cover new friends only)."""
    with engine.connect() as connection:
        last = connection.execute(select(func.max(column))).scalar() or 0
        return list(connection.execute(select(Friend.id).where(Friend.id > last).order_by(Friend.id)).scalars())


def generate_field_values(engine: Engine, *, seed: int = 1, now: datetime | None = None) -> LoadResult:
    """Define the bench custom fields (choice, number, date, text) and give friends values in canonical form."""
    import json

    from crm.models import FieldDefinition, FieldValue

    with engine.begin() as connection:
        for position, (key, kind, choices) in enumerate(BENCH_FIELDS):
            if connection.execute(select(FieldDefinition.id).where(FieldDefinition.key == key)).scalar() is None:
                connection.execute(FieldDefinition.__table__.insert().values(
                    key=key, label=key, field_type=kind, choices=json.dumps(choices) if choices else None,
                    required=False, position=100 + position, created_at=utcnow()))
        ids = dict(connection.execute(select(FieldDefinition.key, FieldDefinition.id)).all())
    rng, stamp = random.Random(f"fields:{seed}"), now or utcnow()
    rows = (row for friend_id in _friend_ids_after(engine, FieldValue.friend_id)
            for row in _field_value_rows(rng, friend_id, ids, stamp))
    with _index_dropped(engine, FieldValue.__table__, "ix_field_value_field_value"):
        result = load_table(engine, FieldValue.__table__, FIELD_VALUE_COLUMNS, rows)
    analyze(engine, FieldValue.__table__)
    return result


def _field_value_rows(rng: random.Random, friend_id: int, ids: dict, stamp: datetime) -> Iterator[tuple]:
    """One friend's bench field values, each present with its FIELD_SHARES probability."""
    values = {"bench_plan": lambda: rng.choice(PLAN_POOL),
              "bench_age": lambda: str(rng.randint(15, 80)) if rng.random() < 0.9 else _decimal(rng.uniform(15, 80)),
              "bench_birthday": lambda: f"{rng.randint(1950, 2010)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
              "bench_city": lambda: rng.choice(CITIES)}
    for key, share in FIELD_SHARES.items():
        if rng.random() < share:
            yield friend_id, ids[key], values[key](), stamp, "system:bench"


def _decimal(number: float) -> str:
    """A number with one decimal in the canonical form crm.services.fields stores ("45.0" -> "45")."""
    from decimal import Decimal

    return format(Decimal(f"{number:.1f}").normalize(), "f")


def generate_survey_answers(engine: Engine, *, share: float = ANSWER_SHARE, seed: int = 1,
                            now: datetime | None = None) -> LoadResult:
    """Create a published bench survey (one single- and one multiple-choice question) and completed
    responses from `share` of the friends, with their answers."""
    from surveys.models import SurveyAnswer, SurveyResponse

    survey_id, version_id, questions = _ensure_bench_survey(engine)
    with engine.connect() as connection:
        next_id = (connection.execute(select(func.max(SurveyResponse.id))).scalar() or 0) + 1
    rng, stamp = random.Random(f"answers:{seed}"), now or utcnow()
    chosen = [f for f in _friend_ids_after(engine, SurveyResponse.friend_id) if rng.random() < share]
    responses = ((next_id + i, survey_id, version_id, friend_id, "line", "completed", stamp, stamp, stamp)
                 for i, friend_id in enumerate(chosen))
    load_table(engine, SurveyResponse.__table__, RESPONSE_COLUMNS, responses)
    rows = (row for i, friend_id in enumerate(chosen) for row in _answer_rows(rng, next_id + i, friend_id,
                                                                              questions, stamp))
    result = load_table(engine, SurveyAnswer.__table__, ANSWER_COLUMNS, rows)
    analyze(engine, SurveyResponse.__table__)
    analyze(engine, SurveyAnswer.__table__)
    return result


def _answer_rows(rng, response_id: int, friend_id: int, questions, stamp) -> Iterator[tuple]:
    for (question_id, kind, choice_ids) in questions:
        picked = [rng.choice(choice_ids)] if kind == "single" else rng.sample(choice_ids, rng.randint(1, 3))
        for choice_id in sorted(picked):
            yield response_id, question_id, friend_id, choice_id, stamp


def _ensure_bench_survey(engine: Engine) -> tuple[int, int, list]:
    """The bench survey's id, its live version's id and [(question id, kind, [choice ids])]."""
    from sqlmodel import Session

    from surveys.models import Survey, SurveyChoice, SurveyQuestion, SurveyVersion

    with Session(engine) as session:
        survey = session.exec(select(Survey).where(Survey.title == "ベンチアンケート")).scalars().first()
        if survey is None:
            survey = Survey(title="ベンチアンケート", status="published")
            session.add(survey)
            session.flush()
            version = SurveyVersion(survey_id=survey.id, number=1, state="live", published_at=utcnow())
            session.add(version)
            session.flush()
            for position, (kind, text_, labels) in enumerate(SURVEY_QUESTIONS):
                question = SurveyQuestion(version_id=version.id, position=position, kind=kind, text=text_)
                session.add(question)
                session.flush()
                session.add_all(SurveyChoice(question_id=question.id, position=i, label=label)
                                for i, label in enumerate(labels))
            session.commit()
        version_id = session.exec(select(SurveyVersion.id).where(SurveyVersion.survey_id == survey.id)).scalar()
        questions = session.exec(select(SurveyQuestion).where(SurveyQuestion.version_id == version_id)
                                 .order_by(SurveyQuestion.position)).scalars().all()
        found = [(q.id, q.kind, list(session.exec(select(SurveyChoice.id).where(SurveyChoice.question_id == q.id)
                                                   .order_by(SurveyChoice.id)).scalars())) for q in questions]
        return survey.id, version_id, found


def generate_clicks(engine: Engine, *, broadcasts: int = CLICK_BROADCASTS, seed: int = 1,
                    now: datetime | None = None) -> LoadResult:
    """Create `broadcasts` sent bench broadcasts with two tracked links each, and clicks on them (some
    friends click more than once)."""
    from crm.models import Broadcast, LinkClick, TrackedLink

    links = []
    with engine.begin() as connection:
        for number in range(broadcasts):
            broadcast_id = connection.execute(Broadcast.__table__.insert().values(
                name=f"ベンチ配信 {number + 1}", messages="[]", status="sent", track_links=True, control_percent=0,
                snapshot_done=True, snapshot_cursor=0, created_at=utcnow(), updated_at=utcnow())
                .returning(Broadcast.__table__.c.id)).scalar_one()
            for index in range(len(CLICK_SHARES)):
                links.append((broadcast_id, index, connection.execute(TrackedLink.__table__.insert().values(
                    destination=f"https://shop.example.jp/{broadcast_id}/{index}", source="broadcast",
                    broadcast_id=broadcast_id, created_at=utcnow()).returning(TrackedLink.__table__.c.id)).scalar_one()))
    rng, now_ts = random.Random(f"clicks:{seed}"), (now or utcnow()).timestamp()
    rows = (row for friend_id in _friend_ids_after(engine, LinkClick.friend_id)
            for row in _click_rows(rng, friend_id, links, now_ts))
    table = LinkClick.__table__
    with _index_dropped(engine, table, "ix_link_click_link_friend"), \
            _index_dropped(engine, table, "ix_link_click_friend_clicked"), \
            _index_dropped(engine, table, "ix_link_click_broadcast_friend"):
        result = load_table(engine, table, CLICK_COLUMNS, rows)
    analyze(engine, table)
    return result


def _click_rows(rng: random.Random, friend_id: int, links, now_ts: float) -> Iterator[tuple]:
    for broadcast_id, index, link_id in links:
        if rng.random() < CLICK_SHARES[index]:
            for _ in range(1 if rng.random() < 0.8 else 2):
                yield link_id, friend_id, broadcast_id, _utc(now_ts - rng.uniform(0, 8e6)), "Mozilla/5.0 (iPhone)"


def generate_segment_data(engine: Engine, *, seed: int = 1) -> None:
    """Field values, survey answers and clicks for friends that have none yet (printing rows/s)."""
    print(generate_field_values(engine, seed=seed), flush=True)
    print(generate_survey_answers(engine, seed=seed), flush=True)
    print(generate_clicks(engine, seed=seed), flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    """CLI: migrate the database, then generate data and print rows/s."""
    parser = argparse.ArgumentParser(prog="python -m bench.generate", description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True, help="SQLAlchemy URL, e.g. sqlite:////tmp/bench.sqlite3")
    parser.add_argument("--friends", type=int, default=10_000, help="friends to add (default 10,000)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument("--tags-per-friend", type=float, default=0,
                        help="then put ~N of ~50 bench tags on each untagged friend (default 0: no tags)")
    parser.add_argument("--segment-data", action="store_true",
                        help="then add custom field values, survey answers and clicks for new friends")
    args = parser.parse_args(argv)
    migrate.upgrade(args.database_url)
    engine = make_engine(args.database_url)
    try:
        print(generate_friends(engine, args.friends, seed=args.seed), flush=True)
        if args.tags_per_friend:
            print(generate_tags(engine, per_friend=args.tags_per_friend, seed=args.seed), flush=True)
        if args.segment_data:
            generate_segment_data(engine, seed=args.seed)
    finally:
        engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
