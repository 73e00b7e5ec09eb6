"""Cursor pages over small ordered lists and id-ordered queries (the friend list has its own keyset cursor)."""

from __future__ import annotations

import re

from crm.api.errors import ApiError

ID_CURSOR = re.compile(r"[0-9]{1,10}")  # ASCII digits only: str.isdigit() also accepts "²", which int() refuses
MAX_ID = 2**31 - 1  # ids are 32-bit integers on PostgreSQL


def bad_cursor() -> ApiError:
    """A cursor the API did not hand out: 400, whatever list it was passed to."""
    message = "The cursor is damaged: pass a page's next_cursor unchanged, or leave it out for the first page."
    return ApiError(400, "bad_cursor", message, {"cursor": ["bad_cursor"]})


def decode_id_cursor(cursor: str | None) -> int | None:
    """A cursor of these lists is the id of the last row seen."""
    if not cursor:
        return None
    if not ID_CURSOR.fullmatch(cursor) or int(cursor) > MAX_ID:
        raise bad_cursor()
    return int(cursor)


def page(rows: list, *, limit: int, key=lambda row: row.id) -> tuple[list, str | None]:
    """Cut `limit + 1` fetched rows to a page and the next cursor."""
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, str(key(rows[-1])) if more and rows else None


def page_after(rows: list, *, cursor: str | None, limit: int, key=lambda row: row.id) -> tuple[list, str | None]:
    """A page of an already ordered list, continuing after the row whose key is the cursor."""
    last = decode_id_cursor(cursor)
    if last is not None:
        keys = [key(row) for row in rows]
        rows = rows[keys.index(last) + 1 :] if last in keys else []
    return page(rows[: limit + 1], limit=limit, key=key)
