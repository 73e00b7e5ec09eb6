"""Purchases CSV: UTF-8 and Shift_JIS, bad rows listed by row number, the dry run writing nothing, and a second
import of the same file recording nothing twice (idempotent by order id)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from crm.conversions import purchases
from crm.db import get_engine, session_scope
from crm.i18n import message_of
from crm.imports.csv_reader import CsvImportError
from tests.conversions.helpers import STAFF, conversions, make_point
from tests.factories import line_user_id, make_friend

FILE = (
    "日付,ユーザーID,友だちID,金額,注文番号\n"
    f'2026/12/01 10:30,{line_user_id(1)},,"￥3,980",A-1\n'  # row 2: good (Japan time)
    "2026-12-02,,{friend_two},１２００円,A-2\n"  # row 3: good by friend id, full-width amount
    f"2026-13-01,{line_user_id(1)},,100,A-3\n"  # row 4: bad date
    f"2026-12-03,{line_user_id(9)},,100,A-4\n"  # row 5: unknown friend
    f"2026-12-03,{line_user_id(1)},,たくさん,A-5\n"  # row 6: bad amount
    f"2026-12-03,{line_user_id(1)},,100,\n"  # row 7: no order id
    f"2026-12-04,{line_user_id(1)},,500,A-1\n"  # row 8: order id repeated in the file
)


def _file(app, encoding: str) -> tuple[bytes, int, int]:
    one, two = make_friend(app, n=1), make_friend(app, n=2)
    return FILE.format(friend_two=two).encode(encoding), one, two


def _check(app, point: int, data: bytes):
    with session_scope(get_engine(app)) as session, app.test_request_context():
        result, _valid = purchases.check_rows(session, point_id=point, data=data)
        return result, [(e.row, message_of(e.error)) for e in result.errors]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp932"])
def test_a_dry_run_lists_bad_rows_and_writes_nothing(app, encoding):
    data, _one, _two = _file(app, encoding)
    point = make_point(app)
    result, errors = _check(app, point, data)
    assert (result.rows, result.valid, result.error_rows) == (7, 2, 5)
    assert [row for row, _message in errors] == [4, 5, 6, 7, 8]
    assert "2026-13-01" in errors[0][1]
    assert conversions(app) == []


@pytest.mark.parametrize("encoding", ["utf-8", "cp932"])
def test_an_import_records_the_good_rows_once(app, encoding):
    data, one, two = _file(app, encoding)
    point = make_point(app)
    with session_scope(get_engine(app)) as session:
        result = purchases.import_purchases(session, point_id=point, data=data, actor=STAFF)
    assert (result.created, result.duplicates, result.error_rows) == (2, 0, 5)
    stored = [(c.friend_id, c.value, c.order_id, c.source, c.occurred_at) for c in conversions(app)]
    assert stored == [
        (one, 3980, "A-1", "import", datetime(2026, 12, 1, 1, 30, tzinfo=UTC)),
        (two, 1200, "A-2", "import", datetime(2026, 12, 1, 15, 0, tzinfo=UTC)),
    ]
    with session_scope(get_engine(app)) as session:
        again = purchases.import_purchases(session, point_id=point, data=data, actor=STAFF)
    assert (again.created, again.duplicates) == (0, 2)
    assert len(conversions(app)) == 2
    result, _errors = _check(app, point, data)
    assert result.duplicates == 2  # the dry run says so before a third import


def test_a_file_without_the_needed_columns_is_refused_whole(app):
    point = make_point(app)
    with session_scope(get_engine(app)) as session, pytest.raises(CsvImportError):
        purchases.check_rows(session, point_id=point, data="名前,金額\n山田,100\n".encode())
