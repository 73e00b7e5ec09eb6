"""The outbound webhook event surveys emit: survey.answered, with the answers it carries."""

from __future__ import annotations

from sqlmodel import Session, select

from crm.outbound.events import friend_refs
from crm.outbound.outbox import emit
from surveys.models import Survey, SurveyAnswer, SurveyResponse


def survey_answered(session: Session, *, response_id: int) -> None:
    """A friend finished a survey (in the chat or the web form)."""
    emit(session, "survey.answered", lambda: _payload(session, response_id))


def _payload(session: Session, response_id: int) -> dict:
    response = session.get(SurveyResponse, response_id)
    survey = session.get(Survey, response.survey_id)
    answers = session.exec(
        select(SurveyAnswer.question_id, SurveyAnswer.choice_id, SurveyAnswer.text)
        .where(SurveyAnswer.response_id == response_id)
        .order_by(SurveyAnswer.id)
    )
    return {
        "survey": {"id": survey.id, "title": survey.title},
        "response_id": response_id,
        "channel": response.channel,
        "finished_at": response.finished_at,
        "friend": friend_refs(session, [response.friend_id])[0],
        "answers": [{"question_id": q, "choice_id": c, "text": t} for q, c, t in answers],
    }
