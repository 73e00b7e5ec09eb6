"""What a segment builder can pick from: tags, fields, survey questions with choices, links, broadcasts, routes,
and the inputs of the conditions other features registered."""

from __future__ import annotations

from sqlalchemy import column, select, table
from sqlmodel import Session

from crm.broadcasts.models import Broadcast
from crm.fields.models import FieldDefinition
from crm.fields.service import choices_of
from crm.segments.registry import builder_options
from crm.segments.tree import FIELD_OPS
from crm.tags.models import Tag
from crm.tracking.models import TrackedLink

MAX_LINKS = 500
MAX_BROADCASTS = 500
MAX_QUESTIONS = 500
# Survey tables are read by name (crm never imports the surveys package).
SURVEY = table("survey", column("id"), column("title"))
VERSION = table("survey_version", column("id"), column("survey_id"), column("number"))
QUESTION = table(
    "survey_question", column("id"), column("version_id"), column("position"), column("text"), column("kind")
)
CHOICE = table("survey_choice", column("id"), column("question_id"), column("position"), column("label"))
ROUTE = table("inflow_route", column("id"), column("name"), column("folder"))  # crm.routes sits above segments
MAX_ROUTES = 500


def options(session: Session, *, personal_allowed: bool = True) -> dict:
    """Every pickable thing, JSON-ready, newest links and broadcasts first; personal fields only when allowed."""
    tags = session.exec(select(Tag.id, Tag.name, Tag.friend_count).order_by(Tag.name)).all()
    field_query = select(FieldDefinition).order_by(FieldDefinition.position, FieldDefinition.id)
    if not personal_allowed:
        field_query = field_query.where(FieldDefinition.personal.is_(False))
    fields = session.exec(field_query).scalars()
    links = session.exec(
        select(TrackedLink.id, TrackedLink.destination, TrackedLink.broadcast_id)
        .order_by(TrackedLink.id.desc())
        .limit(MAX_LINKS)
    ).all()
    broadcasts = session.exec(
        select(Broadcast.id, Broadcast.name).order_by(Broadcast.id.desc()).limit(MAX_BROADCASTS)
    ).all()
    return {
        "tags": [{"id": i, "name": n, "count": c} for i, n, c in tags],
        "fields": [
            {
                "key": f.key,
                "label": f.label,
                "type": f.field_type,
                "ops": list(FIELD_OPS[f.field_type]),
                "choices": choices_of(f),
            }
            for f in fields
        ],
        "questions": questions(session),
        "links": [{"id": i, "destination": d, "broadcast_id": b} for i, d, b in links],
        "broadcasts": [{"id": i, "name": n} for i, n in broadcasts],
        "routes": [
            {"id": i, "name": f"{folder} / {name}" if folder else name}
            for i, name, folder in session.exec(
                select(ROUTE.c.id, ROUTE.c.name, ROUTE.c.folder).order_by(ROUTE.c.name).limit(MAX_ROUTES)
            ).all()
        ],
        "registered": builder_options(session),
    }


def questions(session: Session) -> list[dict]:
    """Choice questions of every survey version (answers name a version's question), newest version first."""
    rows = session.exec(
        select(QUESTION.c.id, QUESTION.c.text, SURVEY.c.title, VERSION.c.number)
        .join(VERSION, VERSION.c.id == QUESTION.c.version_id)
        .join(SURVEY, SURVEY.c.id == VERSION.c.survey_id)
        .where(QUESTION.c.kind != "text")
        .order_by(SURVEY.c.title, VERSION.c.number.desc(), QUESTION.c.position, QUESTION.c.id)
        .limit(MAX_QUESTIONS)
    ).all()
    ids = [row[0] for row in rows]
    choices: dict[int, list] = {}
    if ids:
        for choice_id, question_id, label in session.exec(
            select(CHOICE.c.id, CHOICE.c.question_id, CHOICE.c.label)
            .where(CHOICE.c.question_id.in_(ids))
            .order_by(CHOICE.c.position, CHOICE.c.id)
        ).all():
            choices.setdefault(question_id, []).append({"id": choice_id, "label": label})
    return [
        {"id": i, "text": text, "survey": title, "version": number, "choices": choices.get(i, [])}
        for i, text, title, number in rows
    ]
