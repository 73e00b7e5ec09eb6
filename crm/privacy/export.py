"""The full export of every friend with tags, fields, notes, survey answers and clicks, as CSV or JSON Lines.

Both formats are generators of text chunks, one keyset batch of friends at a time (friend_pages.id_batches),
so memory stays bounded however many friends there are. CSV column names are stable keys (not translated) and
match what the CSV import recognises, so an export can be imported again.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import datetime

from sqlmodel import Session

from crm.csv_cells import safe_cell
from crm.fields.service import list_definitions
from crm.friends.pages import id_batches
from crm.friends.query import FriendFilter
from crm.privacy.friend_data import PROFILE_COLUMNS, friend_records

EVERYONE = FriendFilter()


def record_batches(session: Session, *, now: datetime, size: int | None = None) -> Iterator[list[dict]]:
    """Every friend's record (see friend_data.friend_records), one id batch at a time."""
    for ids in id_batches(session, EVERYONE, now=now, size=size):
        yield friend_records(session, ids)
        session.expunge_all()  # nothing from earlier batches stays referenced


def jsonl_chunks(session: Session, *, now: datetime, size: int | None = None) -> Iterator[str]:
    """JSON Lines: one friend object per line."""
    for batch in record_batches(session, now=now, size=size):
        yield "".join(json.dumps(item, ensure_ascii=False) + "\n" for item in batch)


def csv_header(field_keys: list[str]) -> list[str]:
    """The export's columns: the friend's own, tags, one per field, then notes, answers and clicks."""
    return [*PROFILE_COLUMNS, "tags", *(f"field:{key}" for key in field_keys), "notes", "answers", "clicks"]


def csv_row(item: dict, field_keys: list[str]) -> list[str]:
    """One friend as CSV cells; lists are joined one item per line, every cell formula-escaped."""
    answers = [f"{a['survey']} / {a['question']}: {a['answer'] or ''}" for a in item["answers"]]
    clicks = [f"{c['clicked_at']} {c['url'] or ''}" for c in item["clicks"]]
    cells = [
        *(item[name] for name in PROFILE_COLUMNS),
        ", ".join(item["tags"]),
        *(item["fields"].get(key) for key in field_keys),
        "\n\n".join(note["body"] for note in item["notes"]),
        "\n".join(answers),
        "\n".join(clicks),
    ]
    return [safe_cell(cell) for cell in cells]


def csv_chunks(session: Session, *, now: datetime, size: int | None = None) -> Iterator[str]:
    """CSV (UTF-8 with a BOM so Excel reads it): the header, then one chunk per batch."""
    keys = [definition.key for definition in list_definitions(session)]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(csv_header(keys))
    yield "\ufeff" + buffer.getvalue()
    for batch in record_batches(session, now=now, size=size):
        buffer.seek(0)
        buffer.truncate()
        writer.writerows(csv_row(item, keys) for item in batch)
        yield buffer.getvalue()
