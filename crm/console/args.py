"""Query-string numbers of console pages (paging cursors, page numbers), read so that a crafted link cannot
reach the database with a number its integer columns cannot hold."""

from __future__ import annotations

import re

from flask import request

DIGITS = re.compile(r"[0-9]{1,10}")  # ASCII only: int() also reads "٣" and "²"-like digits str.isdigit() accepts
MAX_ROW_ID = 2**31 - 1  # ids are 32-bit integers on PostgreSQL


def row_id_arg(name: str) -> int | None:
    """A positive id from the query string (a "continue after this row" cursor); None when absent or crafted,
    so the page starts from the beginning instead of failing."""
    text = request.args.get(name, "")
    if not DIGITS.fullmatch(text) or not 0 < int(text) <= MAX_ROW_ID:
        return None
    return int(text)
