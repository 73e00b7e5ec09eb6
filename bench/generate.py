"""Realistic bulk data for benchmarks, written with COPY (PostgreSQL) or batched executemany (SQLite).

Each table has a row generator (`<table>_rows`) and a loader (`generate_<table>`) built on
`load_table`, so later benchmarks add tables (tags, answers, clicks) the same way.

    python -m bench.generate --database-url URL --friends 1000000
"""
from __future__ import annotations

import argparse
import itertools
import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Callable, Iterable, Iterator, Sequence

from sqlalchemy import DateTime, Table, func, select, text
from sqlalchemy.engine import Engine

from crm import migrate
from crm.db import make_engine
from crm.models import Friend, FriendStatus
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


def main(argv: Sequence[str] | None = None) -> int:
    """CLI: migrate the database, then generate data and print rows/s."""
    parser = argparse.ArgumentParser(prog="python -m bench.generate", description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True, help="SQLAlchemy URL, e.g. sqlite:////tmp/bench.sqlite3")
    parser.add_argument("--friends", type=int, default=10_000, help="friends to add (default 10,000)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    args = parser.parse_args(argv)
    migrate.upgrade(args.database_url)
    engine = make_engine(args.database_url)
    try:
        print(generate_friends(engine, args.friends, seed=args.seed), flush=True)
    finally:
        engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
