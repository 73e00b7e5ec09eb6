"""Purchases from a CSV file (date, LINE user id or friend id, amount, order id) as conversions on a point.

Reading reuses the friends import's reader (UTF-8 with or without a BOM, or Shift_JIS; strict CSV). A dry run
checks every row and writes nothing; an import records each valid row through the same service as the API, so
an order id already recorded on the point (an earlier import of the same file) is counted as a duplicate, not
stored twice. Rows with an error are skipped and listed by row number.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session

from crm.conversions.errors import ConversionError
from crm.conversions.models import Conversion, Source
from crm.conversions.points import get_point
from crm.conversions.recording import Outcome, check_order_id, check_value, record_conversion
from crm.errors import N_, TranslatableError
from crm.friends.models import ERASED_PREFIX, Friend
from crm.imports.csv_reader import LINE_USER_ID, CsvImportError, data_rows, decode, norm_name, records
from crm.staff.audit import Actor, record
from crm.timeutil import TOKYO

MAX_ROWS = 50_000
MAX_REPORTED_ERRORS = 200
COLUMNS = {
    "date": {"日付", "date", "購入日", "注文日", "購入日時", "注文日時", "日時", "occurredat", "purchasedat"},
    "user_id": {"userid", "lineuserid", "lineユーザーid", "ユーザーid", "lineuid", "uid"},
    "friend_id": {"friendid", "友だち番号", "crm友だちid", "友だちid"},
    "amount": {"金額", "amount", "購入金額", "売上", "売上金額", "合計", "合計金額", "value", "price"},
    "order_id": {"注文番号", "orderid", "注文id", "受注番号", "order", "オーダーid"},
}
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M:%S")


@dataclass(frozen=True)
class RowError:
    """One problem of one row."""

    row: int
    error: TranslatableError


@dataclass
class Purchase:
    """A valid row."""

    row: int
    friend_id: int
    value: int
    order_id: str
    occurred_at: datetime


@dataclass
class PurchasesResult:
    """A dry run's or an import's counts and the rows with errors."""

    encoding: str
    rows: int = 0
    valid: int = 0
    created: int = 0
    duplicates: int = 0
    errors: list[RowError] = field(default_factory=list)
    error_rows: int = 0


def _columns(header: list[str]) -> dict[str, int]:
    found = {}
    for index, name in enumerate(header):
        for key, names in COLUMNS.items():
            if norm_name(name) in names and key not in found:
                found[key] = index
    missing = [key for key in ("date", "amount", "order_id") if key not in found]
    if missing or ("user_id" not in found and "friend_id" not in found):
        raise CsvImportError(
            N_("The file needs the columns 日付 (date), ユーザーID or 友だちID, 金額 (amount) and 注文番号 (order id).")
        )
    return found


def parse_date(text: str) -> datetime:
    """A date or date-time as the console writes it, in Japan time unless an offset is given; UTC aware."""
    text = unicodedata.normalize("NFKC", text).strip()
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        parsed = None
        for pattern in DATE_FORMATS:
            try:
                parsed = datetime.strptime(text, pattern)
                break
            except ValueError:
                continue
    if parsed is None:
        raise ConversionError(N_("%(value)s is not a date such as 2026-12-01 or 2026/12/01 10:30."), value=text[:40])
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=TOKYO)


def parse_amount(text: str) -> int:
    """Yen as a whole number: ¥, 円, commas and full-width digits allowed."""
    cleaned = re.sub(r"[¥￥,円\s]", "", unicodedata.normalize("NFKC", text))
    if not cleaned.isdigit():
        raise ConversionError(N_("%(value)s is not an amount in yen."), value=text[:40])
    return int(cleaned)


def _friends(session: Session, user_ids: set[str], friend_ids: set[int]) -> tuple[dict[str, int], set[int]]:
    by_user = {}
    if user_ids:
        query = select(Friend.line_user_id, Friend.id).where(Friend.line_user_id.in_(sorted(user_ids)))
        by_user = dict(session.execute(query).all())
    known = set()
    if friend_ids:
        query = select(Friend.id).where(
            Friend.id.in_(sorted(friend_ids)), ~Friend.line_user_id.startswith(ERASED_PREFIX)
        )
        known = set(session.scalars(query))
    return by_user, known


def check_rows(session: Session, *, point_id: int, data: bytes) -> tuple[PurchasesResult, list[Purchase]]:
    """Decode and check a file for a point: the result (errors by row) and the valid purchases."""
    point = get_point(session, point_id)
    text, encoding = decode(data)
    header = next(records(text), [])
    columns = _columns([cell.strip() for cell in header])
    result, raw = PurchasesResult(encoding=encoding), []
    for _index, row, cells in data_rows(text):
        result.rows += 1
        if result.rows > MAX_ROWS:
            raise CsvImportError(N_("A file can hold at most %(max)d purchases."), max=MAX_ROWS)
        raw.append((row, cells))
    user_ids = {_cell(cells, columns.get("user_id")) for _row, cells in raw} - {""}
    friend_ids = {int(v) for _row, cells in raw if (v := _cell(cells, columns.get("friend_id"))).isdigit()}
    by_user, known = _friends(session, user_ids, friend_ids)
    purchases, seen_orders = [], set()
    for row, cells in raw:
        try:
            purchase = _purchase(point, row, cells, columns, by_user, known)
            if purchase.order_id in seen_orders:
                raise ConversionError(N_("The order id %(order)s is on an earlier row too."), order=purchase.order_id)
            seen_orders.add(purchase.order_id)
            purchases.append(purchase)
        except TranslatableError as error:
            result.error_rows += 1
            if len(result.errors) < MAX_REPORTED_ERRORS:
                result.errors.append(RowError(row, error))
    result.valid = len(purchases)
    orders = [p.order_id for p in purchases]
    known_orders = set()
    for start in range(0, len(orders), 500):
        query = select(Conversion.order_id).where(
            Conversion.point_id == point.id, Conversion.order_id.in_(orders[start : start + 500])
        )
        known_orders.update(session.scalars(query))
    result.duplicates = sum(1 for order in orders if order in known_orders)
    return result, purchases


def _cell(cells: list[str], index: int | None) -> str:
    return cells[index].strip() if index is not None and index < len(cells) else ""


def _purchase(point, row: int, cells: list[str], columns: dict, by_user: dict, known: set) -> Purchase:
    user_id, friend_text = _cell(cells, columns.get("user_id")), _cell(cells, columns.get("friend_id"))
    if user_id:
        if not LINE_USER_ID.match(user_id):
            raise ConversionError(N_("%(value)s is not a LINE user id."), value=user_id[:40])
        friend_id = by_user.get(user_id)
    elif friend_text.isdigit():
        friend_id = int(friend_text) if int(friend_text) in known else None
    else:
        raise ConversionError(N_("The row has no LINE user id or friend id."))
    if friend_id is None:
        raise ConversionError(N_("No friend has this LINE user id or friend id."))
    order_id = check_order_id(_cell(cells, columns["order_id"]))
    if not order_id:
        raise ConversionError(N_("The order id is empty."))
    value = check_value(point, parse_amount(_cell(cells, columns["amount"])))
    return Purchase(row, friend_id, value, order_id, parse_date(_cell(cells, columns["date"])))


def import_purchases(session: Session, *, point_id: int, data: bytes, actor: Actor) -> PurchasesResult:
    """Record the file's valid purchases (each order id once per point); audited with the counts."""
    result, purchases = check_rows(session, point_id=point_id, data=data)
    result.duplicates = 0
    for purchase in purchases:
        recorded = record_conversion(
            session,
            point_id=point_id,
            friend_id=purchase.friend_id,
            source=Source.IMPORT,
            value=purchase.value,
            order_id=purchase.order_id,
            occurred_at=purchase.occurred_at,
        )
        if recorded.outcome == Outcome.CREATED:
            result.created += 1
        else:
            result.duplicates += 1
    record(
        session,
        actor=actor,
        action="conversions.imported",
        target_type="conversion_point",
        target_id=point_id,
        after={
            "rows": result.rows,
            "created": result.created,
            "duplicates": result.duplicates,
            "errors": result.error_rows,
        },
    )
    return result
