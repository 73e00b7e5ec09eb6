"""/api/v1/surveys: the surveys and their responses (free text hidden from roles without personal data)."""

from __future__ import annotations

from flask_smorest import Blueprint
from sqlmodel import select

from crm.api import auth, errors
from crm.api.pages import decode_id_cursor, page
from crm.api.schemas import ErrorSchema, PageArgs, SurveyResponseSchema, SurveySchema, page_of
from crm.db import get_session
from crm.permissions import visible_name
from surveys import builder, results
from surveys.errors import SurveyError
from surveys.models import QuestionKind, SurveyQuestion

blp = Blueprint("api_surveys", __name__, url_prefix="/api/v1", description="Surveys (アンケート)")
errors.install(blp)
ID = "<int(max=2147483647):survey_id>"


@blp.route("/surveys")
@auth.guard(blp, "reports.view")
@blp.response(200, SurveySchema(many=True))
def list_surveys():
    """Every survey."""
    return [
        {"id": s.id, "title": s.title, "status": s.status, "keyword": s.keyword, "created_at": s.created_at}
        for s in builder.list_surveys(get_session())
    ]


def _text_questions(response_rows) -> set[int]:
    ids = {qid for row in response_rows for qid in row.answers}
    if not ids:
        return set()
    query = select(SurveyQuestion.id).where(SurveyQuestion.id.in_(ids), SurveyQuestion.kind == QuestionKind.TEXT)
    return set(get_session().exec(query).all())


@blp.route(f"/surveys/{ID}/responses")
@auth.guard(blp, "reports.view")
@blp.arguments(PageArgs, location="query", as_kwargs=True)
@blp.response(200, page_of(SurveyResponseSchema))
@blp.alt_response(404, schema=ErrorSchema)
def list_responses(survey_id: int, limit: int, cursor: str | None = None):
    """A survey's responses, newest first, with answers by question id."""
    db = get_session()
    try:
        builder.get_survey(db, survey_id)
    except SurveyError:
        raise errors.not_found("survey", survey_id) from None
    rows = results.response_rows(db, survey_id, before_id=decode_id_cursor(cursor), limit=limit + 1)
    rows, next_cursor = page(rows, limit=limit, key=lambda row: row.response.id)
    masked = auth.masked()
    hidden = _text_questions(rows) if masked else set()
    return {
        "data": [
            {
                "id": row.response.id,
                "friend_id": row.friend.id,
                "friend_name": visible_name(row.friend, auth.role()),
                "channel": row.response.channel,
                "status": row.response.status,
                "started_at": row.response.started_at,
                "finished_at": row.response.finished_at,
                "answers": {str(qid): None if qid in hidden else values for qid, values in row.answers.items()},
            }
            for row in rows
        ],
        "next_cursor": next_cursor,
    }


def friend_responses(session, friend_id: int, *, masked: bool, limit: int) -> list[dict]:
    """`survey_responses` of the API's friend detail: the friend's responses, newest first."""
    return [friend_response(item, masked) for item in results.answers_for_friend(session, friend_id, limit=limit)]


def friend_response(item, masked: bool) -> dict:
    """A friend's survey response; free-text answers are hidden from masked roles, as on the friend page."""
    return {
        "response_id": item.response.id,
        "survey_id": item.survey.id,
        "survey_title": item.survey.title,
        "status": item.response.status,
        "started_at": item.response.started_at,
        "finished_at": item.response.finished_at,
        "answers": [
            {
                "question_id": q.id,
                "question": q.text,
                "kind": q.kind,
                "values": None if masked and q.kind == QuestionKind.TEXT else given,
            }
            for q, given in item.answers
        ],
    }
