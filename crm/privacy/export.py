"""The full export of every friend with tags, fields, notes, survey answers and clicks, as CSV or JSON Lines.

Both formats are generators of text chunks, one keyset batch of friends at a time (friend_pages.id_batches),
so memory stays bounded however many friends there are. CSV headers and status values are in the staff member's
language by default (`words`: the console's gettext); without `words` they are stable machine keys (id,
line_user_id, field:<key>, following). Both header forms are what the CSV import recognises, so an export can be
imported again.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from datetime import datetime

from sqlmodel import Session

from crm.csv_cells import safe_cell
from crm.errors import N_
from crm.fields.service import list_definitions
from crm.friends.models import STATUS_WORDS
from crm.friends.pages import id_batches
from crm.friends.query import FriendFilter
from crm.privacy.friend_data import PROFILE_COLUMNS, friend_records

EVERYONE = FriendFilter()
Words = Callable[[str], str]  # a msgid in, the staff member's words out

COLUMN_WORDS = {
    "id": N_("Friend number"),
    "line_user_id": N_("LINE user ID"),
    "display_name": N_("Display name"),
    "reading": N_("Reading"),
    "picture_url": N_("Profile picture URL"),
    "language": N_("Language"),
    "status_message": N_("Status message"),
    "status": N_("Status"),
    "follow_count": N_("Times followed"),
    "first_followed_at": N_("First followed"),
    "last_followed_at": N_("Last followed"),
    "blocked_at": N_("Blocked at"),
    "last_interaction_at": N_("Last interaction"),
    "created_at": N_("Registered in the CRM"),
    "tags": N_("Tags"),
    "notes": N_("Notes"),
    "answers": N_("Survey answers"),
    "clicks": N_("Link clicks"),
}
FIELD_COLUMN = N_("Friend information:%(label)s")


def record_batches(session: Session, *, now: datetime, size: int | None = None) -> Iterator[list[dict]]:
    """Every friend's record (see friend_data.friend_records), one id batch at a time."""
    for ids in id_batches(session, EVERYONE, now=now, size=size):
        yield friend_records(session, ids)
        session.expunge_all()  # nothing from earlier batches stays referenced


def jsonl_chunks(session: Session, *, now: datetime, size: int | None = None) -> Iterator[str]:
    """JSON Lines: one friend object per line."""
    for batch in record_batches(session, now=now, size=size):
        yield "".join(json.dumps(item, ensure_ascii=False) + "\n" for item in batch)


def csv_header(fields: list[tuple[str, str]], words: Words | None = None) -> list[str]:
    """The export's columns (fields: (key, label) pairs): the friend's own, tags, one per field, then notes,
    answers and clicks — machine keys, or the staff member's words."""
    if words is None:
        return [*PROFILE_COLUMNS, "tags", *(f"field:{key}" for key, _label in fields), "notes", "answers", "clicks"]
    own = [words(COLUMN_WORDS[name]) for name in (*PROFILE_COLUMNS, "tags")]
    return [*own, *(words(FIELD_COLUMN) % {"label": label} for _key, label in fields)] + [
        words(COLUMN_WORDS[name]) for name in ("notes", "answers", "clicks")
    ]


def csv_row(item: dict, field_keys: list[str], words: Words | None = None) -> list[str]:
    """One friend as CSV cells; lists are joined one item per line, every cell formula-escaped."""
    answers = [f"{a['survey']} / {a['question']}: {a['answer'] or ''}" for a in item["answers"]]
    clicks = [f"{c['clicked_at']} {c['url'] or ''}" for c in item["clicks"]]
    if words is not None and item["status"] in STATUS_WORDS:
        item = {**item, "status": words(STATUS_WORDS[item["status"]])}
    cells = [
        *(item[name] for name in PROFILE_COLUMNS),
        ", ".join(item["tags"]),
        *(item["fields"].get(key) for key in field_keys),
        "\n\n".join(note["body"] for note in item["notes"]),
        "\n".join(answers),
        "\n".join(clicks),
    ]
    return [safe_cell(cell) for cell in cells]


def csv_chunks(
    session: Session, *, now: datetime, size: int | None = None, words: Words | None = None
) -> Iterator[str]:
    """CSV (UTF-8 with a BOM so Excel reads it): the header, then one chunk per batch."""
    fields = [(definition.key, definition.label) for definition in list_definitions(session)]
    keys = [key for key, _label in fields]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(csv_header(fields, words))
    yield "\ufeff" + buffer.getvalue()
    for batch in record_batches(session, now=now, size=size):
        buffer.seek(0)
        buffer.truncate()
        writer.writerows(csv_row(item, keys, words) for item in batch)
        yield buffer.getvalue()
