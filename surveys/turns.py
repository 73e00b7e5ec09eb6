"""A survey turn: what the chat shows next after a step (ask a question, finish, or say why nothing happened)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from sqlmodel import Session, select

from surveys.errors import SurveyError
from surveys.models import Survey, SurveyAnswer, SurveyChoice, SurveyQuestion, SurveyResponse
from surveys.questions import choices_of


class TurnStatus(StrEnum):
    """Values of Turn.status."""

    ASK = "ask"
    RETRY = "retry"  # ask the same question again, with the error
    DONE = "done"
    CANCELLED = "cancelled"
    STALE = "stale"  # a tap on a question already answered (or a response already closed): nothing to send
    REPEAT_REFUSED = "repeat_refused"
    UNAVAILABLE = "unavailable"  # the survey is not published
    WEB = "web"  # answered in the web form: send its link


@dataclass
class Turn:
    """What the chat shows next: ask a question, finish, or tell the friend why nothing happened."""

    status: TurnStatus
    survey: Survey | None = None
    response: SurveyResponse | None = None
    question: SurveyQuestion | None = None
    choices: list[SurveyChoice] = field(default_factory=list)
    selected: set[int] = field(default_factory=set)
    error: SurveyError | None = None
    resumed: bool = False
    first: bool = False


def ask(session: Session, response: SurveyResponse, **flags) -> Turn:
    """A turn asking the response's current question, with the choices already toggled on."""
    question = session.get(SurveyQuestion, response.current_question_id)
    selected = set(
        session.exec(
            select(SurveyAnswer.choice_id).where(
                SurveyAnswer.response_id == response.id, SurveyAnswer.question_id == question.id
            )
        ).all()
    ) - {None}
    return Turn(
        TurnStatus.ASK,
        session.get(Survey, response.survey_id),
        response,
        question,
        choices_of(session, [question.id])[question.id],
        selected,
        **flags,
    )
