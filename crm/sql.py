"""Dialect helpers shared by services (SQLite and PostgreSQL upserts, greatest-of-two)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta

from sqlalchemy import JSON, case, func, literal, select, type_coerce
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import ClauseElement
from sqlmodel import Session

from crm.timeutil import TOKYO, UTCDateTime


def dialect_insert(dialect: str, table):
    """Return an INSERT that supports ON CONFLICT for the named dialect."""
    module = postgresql if dialect == "postgresql" else sqlite
    return module.insert(table)


def insert_for(session: Session, table):
    """Return an INSERT that supports ON CONFLICT for the session's dialect."""
    return dialect_insert(session.get_bind().dialect.name, table)


def insert_rows(session: Session, table, columns: Sequence[str], rows: list[tuple]) -> None:
    """Insert many plain rows (tuples in `columns` order; no datetimes) in the session's transaction, with no
    per-row work in SQLAlchemy: COPY on PostgreSQL, the driver's executemany on SQLite."""
    if not rows:
        return
    names = ", ".join(f'"{name}"' for name in columns)
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        with connection.connection.driver_connection.cursor() as cursor:
            with cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
                for row in rows:
                    copy.write_row(row)
        return
    connection.exec_driver_sql(f'INSERT INTO "{table.name}" ({names}) VALUES ({", ".join("?" * len(columns))})', rows)


JSON_GROUP_MIN = 2  # SQLite: groups of one row (a push's recipient) go together by executemany


def insert_groups(session: Session, table, columns: Sequence[str], groups: list[tuple[tuple, list[int]]]) -> None:
    """Insert rows given as groups that share every value but the last column's, an integer: (the group's values
    of `columns[:-1]`, [its integers of the last column]), in the session's transaction.

    PostgreSQL: one COPY of every row (`insert_rows`). SQLite: each group of JSON_GROUP_MIN rows or more is one
    `INSERT … SELECT` over a JSON array of its integers (`json_each`: SQLite binds no parameter per row, half the
    CPU of an `executemany` of the same rows), smaller groups one `executemany`."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        insert_rows(session, table, columns, [(*shared, value) for shared, values in groups for value in values])
        return
    small = [(*shared, value) for shared, values in groups if len(values) < JSON_GROUP_MIN for value in values]
    insert_rows(session, table, columns, small)
    big = [(*shared, json.dumps(values)) for shared, values in groups if len(values) >= JSON_GROUP_MIN]
    if big:
        names = ", ".join(f'"{name}"' for name in columns)
        shared_marks = "?, " * (len(columns) - 1)
        statement = f'INSERT INTO "{table.name}" ({names}) SELECT {shared_marks}value FROM json_each(?)'
        connection.exec_driver_sql(statement, big)


def first_column(session: Session, query) -> list:
    """The first column of a query's rows as a plain list, read straight from the driver's cursor: no Row objects
    nor result processing (use it for plain integers or text; ~1 µs a row less than `.scalars().all()`)."""
    result = session.connection().execute(query)
    try:
        return [row[0] for row in result.cursor.fetchall()]
    finally:
        result.close()


def array_agg(session: Session, column):
    """SQL aggregating a column's values of each group into one list, read back as a Python list: one row per
    group instead of one per value (`array_agg` on PostgreSQL, `json_group_array` on SQLite)."""
    if session.get_bind().dialect.name == "postgresql":
        return func.array_agg(column)
    return type_coerce(func.json_group_array(column), JSON)


def utc_literal(value):
    """A bound UTC datetime usable inside SQL expressions."""
    return literal(value, UTCDateTime())


def later_of(column, value):
    """SQL for the later of a nullable datetime column and a value."""
    bound = value if isinstance(value, ClauseElement) else utc_literal(value)
    return case((column.is_(None), bound), (column < bound, bound), else_=column)


def tokyo_date(session: Session, column):
    """SQL for a UTC datetime column's calendar day in Asia/Tokyo (a 'YYYY-MM-DD' text on SQLite, a date on
    PostgreSQL: read it back with `date.fromisoformat(str(value))`). Japan keeps no daylight saving time."""
    if session.get_bind().dialect.name == "postgresql":
        return func.date(func.timezone("Asia/Tokyo", column))
    return func.date(column, "+9 hours")


def tokyo_day_counts(session: Session, column, days: list[date], *conditions) -> list[int]:
    """How many rows of the column's table (meeting `conditions`) have the UTC datetime `column` on each of the
    Asia/Tokyo `days`: one statement of a range count per day, each served by an index on the column (no per-row
    date conversion, unlike `tokyo_date`)."""
    starts = [datetime.combine(day, time(0), tzinfo=TOKYO) for day in days]
    ranges = [(start, start + timedelta(days=1)) for start in starts]
    counts = [
        select(func.count()).select_from(column.table).where(column >= start, column < end, *conditions)
        for start, end in ranges
    ]
    return list(session.execute(select(*(count.scalar_subquery() for count in counts))).one())


def contains_pattern(term: str) -> str:
    """A LIKE pattern for text containing the term, its wildcards escaped with a backslash (use escape="\\")."""
    return "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def tokyo_hour(session: Session, column):
    """SQL for a UTC datetime column's hour in Asia/Tokyo as 'YYYY-MM-DD HH' text (read it back with
    `datetime.strptime(value, "%Y-%m-%d %H")`)."""
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone("Asia/Tokyo", column), "YYYY-MM-DD HH24")
    return func.strftime("%Y-%m-%d %H", column, "+9 hours")
