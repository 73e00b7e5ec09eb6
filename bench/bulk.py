"""Bulk loading for the benchmark data generator: COPY (PostgreSQL) or batched executemany (SQLite), and
friend ids streamed in keyset batches so no loader ever holds every id (1M friends stay a few MB).
"""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import DateTime, Table, func, select, text
from sqlalchemy.engine import Engine

from crm.friends.models import Friend

SQLITE_BATCH_ROWS = 50_000
SQLITE_LOAD_PRAGMAS = ("PRAGMA synchronous=OFF", "PRAGMA cache_size=-262144", "PRAGMA temp_store=MEMORY")
ID_BATCH = 50_000


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


def print_result(result: LoadResult) -> None:
    """Print a load's figures at once (loads of 1M friends take a while: show progress)."""
    print(result, flush=True)


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
    statement = (
        f"INSERT INTO {_quoted(table.name)} ({', '.join(map(_quoted, columns))}) "
        f"VALUES ({', '.join('?' * len(columns))})"
    )
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
            del batch  # so the next batch is not built while this one is still held
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
                    value = value.astimezone(UTC)
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


@contextmanager
def index_dropped(engine: Engine, table: Table, *names: str):
    """Drop secondary indexes during a bulk load and build them again afterwards (much faster than
    maintaining them row by row)."""
    indexes = [index for index in table.indexes if index.name in names]
    assert len(indexes) == len(names), names
    with engine.begin() as connection:
        for index in indexes:
            index.drop(connection)
    try:
        yield
    finally:
        with engine.begin() as connection:
            for index in indexes:
                index.create(connection)


def last_friend_id(engine: Engine, column) -> int:
    """The largest friend id in `column` (0 if none): repeat runs only cover friends added since."""
    with engine.connect() as connection:
        return connection.execute(select(func.max(column))).scalar() or 0


def friend_ids(engine: Engine, *, after: int = 0, share: float = 1.0, seed: str = "") -> Iterator[int]:
    """Yield the ids of friends above `after` in id order, read by keyset ID_BATCH at a time; keep each
    with probability `share` (the same seed picks the same ids, so a loader can walk its sample twice)."""
    rng = random.Random(seed)
    while True:
        with engine.connect() as connection:
            batch = list(
                connection.execute(
                    select(Friend.id).where(Friend.id > after).order_by(Friend.id).limit(ID_BATCH)
                ).scalars()
            )
        if not batch:
            return
        after = batch[-1]
        yield from (batch if share >= 1 else (fid for fid in batch if rng.random() < share))


def utc(epoch_seconds: float | None) -> datetime | None:
    """An aware UTC datetime from epoch seconds (None stays None)."""
    return None if epoch_seconds is None else datetime.fromtimestamp(epoch_seconds, UTC)
