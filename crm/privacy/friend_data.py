"""Everything stored about a batch of friends (profile, tags, fields, notes, survey answers, clicks) as plain
dicts: the full export and the per-friend export both read through here, a batch of ids at a time.

Survey tables belong to the `surveys` package, which crm does not import: they are named here with
sqlalchemy's lightweight table()/column() (the names are fixed by migration 0005).
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import column, select, table
from sqlmodel import Session

from crm.conversions.models import Conversion, ConversionPoint
from crm.fields.models import FieldDefinition, FieldValue
from crm.friends.models import Friend, Note
from crm.friends.pages import tags_of
from crm.timeutil import UTCDateTime, to_tokyo
from crm.tracking.models import LinkClick, TrackedLink

SURVEY = table("survey", column("id"), column("title"))
SURVEY_RESPONSE = table("survey_response", column("id"), column("survey_id"), column("friend_id"))
SURVEY_QUESTION = table("survey_question", column("id"), column("text"))
SURVEY_CHOICE = table("survey_choice", column("id"), column("label"))
SURVEY_ANSWER = table(
    "survey_answer",
    column("id"),
    column("response_id"),
    column("question_id"),
    column("friend_id"),
    column("choice_id"),
    column("text"),
    column("answered_at", UTCDateTime()),
)
PROFILE_COLUMNS = (
    "id",
    "line_user_id",
    "display_name",
    "reading",
    "picture_url",
    "language",
    "status_message",
    "status",
    "follow_count",
    "first_followed_at",
    "last_followed_at",
    "blocked_at",
    "last_interaction_at",
    "created_at",
)


def iso(value) -> str | None:
    """A stored UTC time as ISO 8601 in Asia/Tokyo (what staff see), None stays None."""
    return None if value is None else to_tokyo(value).isoformat()


def profiles(session: Session, friend_ids: list[int]) -> list[dict]:
    """The friends' own columns, in id order (Core rows: no ORM loading, nothing kept in the session)."""
    cols = [getattr(Friend, name) for name in PROFILE_COLUMNS]
    query = select(*cols).where(Friend.id.in_(friend_ids)).order_by(Friend.id)
    rows = session.connection().execute(query).all()
    return [
        {name: iso(value) if name.endswith("_at") else value for name, value in zip(PROFILE_COLUMNS, row, strict=False)}
        for row in rows
    ]


def related(session: Session, friend_ids: list[int]) -> dict[int, dict]:
    """Per friend id: tags (names), fields (key -> value), notes, survey answers, clicks and conversions."""
    found: dict[int, dict] = {
        fid: {"tags": [], "fields": {}, "notes": [], "answers": [], "clicks": [], "conversions": []}
        for fid in friend_ids
    }
    for fid, rows in tags_of(session, friend_ids).items():
        found[fid]["tags"] = [row.name for row in rows]
    values = (
        select(FieldValue.friend_id, FieldDefinition.key, FieldValue.value)
        .join(FieldDefinition, FieldDefinition.id == FieldValue.field_id)
        .where(FieldValue.friend_id.in_(friend_ids))
    )
    for fid, key, value in session.connection().execute(values):
        found[fid]["fields"][key] = value
    for fid, items in _notes(session, friend_ids).items():
        found[fid]["notes"] = items
    for fid, items in _answers(session, friend_ids).items():
        found[fid]["answers"] = items
    for fid, items in _clicks(session, friend_ids).items():
        found[fid]["clicks"] = items
    for fid, items in _conversions(session, friend_ids).items():
        found[fid]["conversions"] = items
    return found


def _notes(session: Session, friend_ids: list[int]) -> dict[int, list]:
    found: dict[int, list] = defaultdict(list)
    query = (
        select(Note.friend_id, Note.body, Note.created_at, Note.updated_at)
        .where(Note.friend_id.in_(friend_ids))
        .order_by(Note.friend_id, Note.created_at, Note.id)
    )
    for fid, body, created, updated in session.connection().execute(query):
        found[fid].append({"body": body, "created_at": iso(created), "updated_at": iso(updated)})
    return found


def _answers(session: Session, friend_ids: list[int]) -> dict[int, list]:
    a, q, c, r, s = SURVEY_ANSWER, SURVEY_QUESTION, SURVEY_CHOICE, SURVEY_RESPONSE, SURVEY
    query = (
        select(a.c.friend_id, s.c.title, q.c.text, c.c.label, a.c.text, a.c.answered_at)
        .join(r, r.c.id == a.c.response_id)
        .join(s, s.c.id == r.c.survey_id)
        .join(q, q.c.id == a.c.question_id)
        .outerjoin(c, c.c.id == a.c.choice_id)
        .where(a.c.friend_id.in_(friend_ids))
        .order_by(a.c.friend_id, a.c.id)
    )
    found: dict[int, list] = defaultdict(list)
    for fid, survey, question, choice, text, at in session.connection().execute(query):
        found[fid].append(
            {
                "survey": survey,
                "question": question,
                "answer": choice if choice is not None else text,
                "answered_at": iso(at),
            }
        )
    return found


def _clicks(session: Session, friend_ids: list[int]) -> dict[int, list]:
    query = (
        select(
            LinkClick.friend_id,
            TrackedLink.destination,
            LinkClick.broadcast_id,
            LinkClick.clicked_at,
            LinkClick.user_agent,
        )
        .join(TrackedLink, TrackedLink.id == LinkClick.link_id, isouter=True)
        .where(LinkClick.friend_id.in_(friend_ids))
        .order_by(LinkClick.friend_id, LinkClick.id)
    )
    found: dict[int, list] = defaultdict(list)
    for fid, url, broadcast_id, at, agent in session.connection().execute(query):
        found[fid].append({"url": url, "broadcast_id": broadcast_id, "clicked_at": iso(at), "user_agent": agent})
    return found


def _conversions(session: Session, friend_ids: list[int]) -> dict[int, list]:
    query = (
        select(
            Conversion.friend_id,
            ConversionPoint.name,
            Conversion.value,
            Conversion.order_id,
            Conversion.source,
            Conversion.occurred_at,
        )
        .join(ConversionPoint, ConversionPoint.id == Conversion.point_id)
        .where(Conversion.friend_id.in_(friend_ids))
        .order_by(Conversion.friend_id, Conversion.id)
    )
    found: dict[int, list] = defaultdict(list)
    for fid, point, value, order_id, source, at in session.connection().execute(query):
        found[fid].append(
            {"point": point, "value": value, "order_id": order_id, "source": source, "occurred_at": iso(at)}
        )
    return found


def friend_records(session: Session, friend_ids: list[int]) -> list[dict]:
    """One dict per existing friend of the batch: profile columns plus the related data."""
    extra = related(session, friend_ids)
    return [{**profile, **extra[profile["id"]]} for profile in profiles(session, friend_ids)]
