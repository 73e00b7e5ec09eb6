"""The friend list's CSV export: the filtered friends, streamed in keyset batches (UTF-8 with BOM for Excel)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy.engine import Engine
from sqlmodel import Session

from crm.csv_cells import safe_cell
from crm.friends.models import STATUS_WORDS
from crm.friends.pages import friend_batches, tags_of
from crm.friends.query import FriendFilter
from crm.permissions import masks_personal_data, visible_name
from crm.timeutil import to_tokyo


def _time(value) -> str:
    return "" if value is None else to_tokyo(value).strftime("%Y-%m-%d %H:%M:%S")


def friends_csv(engine: Engine, flt: FriendFilter, *, now: datetime, role: str) -> Iterator[str]:
    """Yield the CSV text batch by batch (names masked for roles without personal data).

    The stream reads through its own session, closed when the stream ends or the client goes away: the
    request's session is torn down when the view returns, before the body is sent.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        [
            _("Friend ID"),
            _("LINE user ID"),
            _("Display name"),
            _("Reading"),
            _("Status"),
            _("Language"),
            _("First followed"),
            _("Last followed"),
            _("Blocked at"),
            _("Last interaction"),
            _("Tags"),
        ]
    )
    yield "\ufeff" + buffer.getvalue()
    with Session(engine) as db:
        yield from _csv_batches(db, flt, now, role, writer, buffer)


def _csv_batches(db, flt, now, role: str, writer, buffer):
    """Yield the CSV lines of the matching friends, one keyset batch at a time."""
    for friends in friend_batches(db, flt, now=now):
        buffer.seek(0)
        buffer.truncate()
        tags = tags_of(db, [friend.id for friend in friends])
        for f in friends:
            writer.writerow(
                [
                    f.id,
                    f.line_user_id,
                    safe_cell(visible_name(f, role)),
                    "" if masks_personal_data(role) else safe_cell(f.reading or ""),
                    _(STATUS_WORDS[f.status]) if f.status in STATUS_WORDS else f.status,
                    f.language or "",
                    _time(f.first_followed_at),
                    _time(f.last_followed_at),
                    _time(f.blocked_at),
                    _time(f.last_interaction_at),
                    safe_cell(", ".join(tag.name for tag in tags.get(f.id, []))),
                ]
            )
        yield buffer.getvalue()
