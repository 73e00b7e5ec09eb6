"""Answering in the chat: answer, toggle, done, skip and free text; every step idempotent.

Each step moves a response from the question it was asked to the next one with a compare-and-set UPDATE, so
a double tap or a concurrent duplicate finds the question already answered and changes nothing.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, update
from sqlmodel import Session, select

from crm.errors import N_
from crm.sql import insert_for
from surveys import action_kinds, actions, builder, webhook_events
from surveys.errors import SurveyError
from surveys.models import (
    QuestionKind,
    ResponseStatus,
    Survey,
    SurveyAnswer,
    SurveyChoice,
    SurveyQuestion,
    SurveyResponse,
)
from surveys.questions import choices_of, list_questions
from surveys.responses import CHAT, in_progress
from surveys.turns import Turn, TurnStatus, ask

TEXT_MAX = 5000


def _current(session: Session, friend_id: int, response_id: int, question_id: int) -> SurveyResponse | None:
    response = session.get(SurveyResponse, response_id)
    if (
        response is None
        or response.friend_id != friend_id
        or response.status != ResponseStatus.IN_PROGRESS
        or response.current_question_id != question_id
    ):
        return None
    return response


def _advance(session: Session, response: SurveyResponse, question: SurveyQuestion, at: datetime) -> bool:
    """Compare-and-set the response from this question to the next; False when another step got there first."""
    ordered = list_questions(session, response.version_id)
    later = [q for q in ordered if (q.position, q.id) > (question.position, question.id)]
    values = {"updated_at": at, "current_question_id": later[0].id if later else None}
    if not later:
        values.update(status=ResponseStatus.COMPLETED, finished_at=at)
    moved = session.exec(
        update(SurveyResponse)
        .where(
            SurveyResponse.id == response.id,
            SurveyResponse.current_question_id == question.id,
            SurveyResponse.status == ResponseStatus.IN_PROGRESS,
        )
        .values(**values)
    ).rowcount
    session.refresh(response)
    return moved == 1


def _next_turn(session: Session, response: SurveyResponse) -> Turn:
    """The turn after a successful step (called only then): a completed response emits survey.answered."""
    if response.status == ResponseStatus.COMPLETED:
        webhook_events.survey_answered(session, response_id=response.id)
        action_kinds.survey_completed(session, response_id=response.id)
        return Turn(TurnStatus.DONE, session.get(Survey, response.survey_id), response)
    return ask(session, response)


def answer_choice(
    session: Session, *, friend_id: int, response_id: int, question_id: int, choice_id: int, at: datetime
) -> Turn:
    """Answer a single-choice question (a quick-reply tap, or its label typed)."""
    response = _current(session, friend_id, response_id, question_id)
    question = session.get(SurveyQuestion, question_id)
    choice = session.get(SurveyChoice, choice_id)
    if response is None or choice is None or choice.question_id != question_id or question.kind != QuestionKind.SINGLE:
        return Turn(TurnStatus.STALE)
    if not _advance(session, response, question, at):
        return Turn(TurnStatus.STALE)
    answer = SurveyAnswer(
        response_id=response.id, question_id=question_id, friend_id=friend_id, choice_id=choice_id, answered_at=at
    )
    session.add(answer)
    session.flush()
    actions.apply(
        session,
        actions=actions.parse(choice.actions),
        friend_id=friend_id,
        survey_id=response.survey_id,
        answer_id=answer.id,
    )
    return _next_turn(session, response)


def toggle_choice(
    session: Session,
    *,
    friend_id: int,
    response_id: int,
    question_id: int,
    choice_id: int,
    selected: bool,
    at: datetime,
) -> Turn:
    """Select or unselect a multiple-choice option; the tap says which, so a repeat changes nothing."""
    response = _current(session, friend_id, response_id, question_id)
    choice = session.get(SurveyChoice, choice_id)
    if (
        response is None
        or choice is None
        or choice.question_id != question_id
        or session.get(SurveyQuestion, question_id).kind != QuestionKind.MULTIPLE
    ):
        return Turn(TurnStatus.STALE)
    locked = session.exec(
        update(SurveyResponse)
        .where(  # takes the row lock, so a concurrent Done waits
            SurveyResponse.id == response_id,
            SurveyResponse.current_question_id == question_id,
            SurveyResponse.status == ResponseStatus.IN_PROGRESS,
        )
        .values(updated_at=at)
    ).rowcount
    if not locked:
        return Turn(TurnStatus.STALE)
    keys = dict(response_id=response_id, question_id=question_id, choice_id=choice_id)
    if selected:
        session.exec(
            insert_for(session, SurveyAnswer.__table__)
            .values(**keys, friend_id=friend_id, answered_at=at)
            .on_conflict_do_nothing(index_elements=["response_id", "question_id", "choice_id"])
        )
    else:
        session.exec(delete(SurveyAnswer).where(*(getattr(SurveyAnswer, k) == v for k, v in keys.items())))
    return ask(session, response)


def finish_multiple(session: Session, *, friend_id: int, response_id: int, question_id: int, at: datetime) -> Turn:
    """Done with a multiple-choice question: apply the picked choices' actions and move on."""
    response = _current(session, friend_id, response_id, question_id)
    if response is None:
        return Turn(TurnStatus.STALE)
    current = ask(session, response)
    if current.question.kind != QuestionKind.MULTIPLE:
        return Turn(TurnStatus.STALE)
    if current.question.required and not current.selected:
        return Turn(
            TurnStatus.RETRY,
            current.survey,
            response,
            current.question,
            current.choices,
            error=SurveyError(N_("Choose at least one, then tap Done.")),
        )
    if not _advance(session, response, current.question, at):
        return Turn(TurnStatus.STALE)
    answer_ids = dict(
        session.exec(
            select(SurveyAnswer.choice_id, SurveyAnswer.id).where(
                SurveyAnswer.response_id == response_id, SurveyAnswer.question_id == question_id
            )
        ).all()
    )
    for choice in current.choices:
        if choice.id in current.selected:
            actions.apply(
                session,
                actions=actions.parse(choice.actions),
                friend_id=friend_id,
                survey_id=response.survey_id,
                answer_id=answer_ids[choice.id],
            )
    return _next_turn(session, response)


def skip(session: Session, *, friend_id: int, response_id: int, question_id: int, at: datetime) -> Turn:
    """Skip an optional question."""
    response = _current(session, friend_id, response_id, question_id)
    question = session.get(SurveyQuestion, question_id)
    if response is None or question.required or not _advance(session, response, question, at):
        return Turn(TurnStatus.STALE)
    session.exec(
        delete(SurveyAnswer).where(SurveyAnswer.response_id == response_id, SurveyAnswer.question_id == question_id)
    )
    return _next_turn(session, response)


def answer_text(session: Session, *, friend_id: int, text: str, at: datetime) -> Turn | None:
    """Take a friend's text message as the answer to the current question; None when it is not one."""
    response = in_progress(session, friend_id)
    if response is None or response.channel != CHAT:
        return None
    question = session.get(SurveyQuestion, response.current_question_id)
    if question.kind == QuestionKind.SINGLE:
        typed = builder.normalize_keyword(text)
        match = next(
            (c for c in choices_of(session, [question.id])[question.id] if builder.normalize_keyword(c.label) == typed),
            None,
        )
        return (
            None
            if match is None
            else answer_choice(
                session,
                friend_id=friend_id,
                response_id=response.id,
                question_id=question.id,
                choice_id=match.id,
                at=at,
            )
        )
    if question.kind != QuestionKind.TEXT:
        return None
    return _text(session, response, question, text.strip(), at)


def _text(session: Session, response: SurveyResponse, question: SurveyQuestion, text: str, at: datetime) -> Turn:
    try:
        if not text or len(text) > TEXT_MAX:
            raise SurveyError(N_("Please answer in 1 to %(max)d characters."), max=TEXT_MAX)
        actions.check_text(session, field_id=question.save_field_id, text=text)
    except SurveyError as error:
        current = ask(session, response)
        current.status, current.error = TurnStatus.RETRY, error
        return current
    if not _advance(session, response, question, at):
        return Turn(TurnStatus.STALE)
    session.add(
        SurveyAnswer(
            response_id=response.id, question_id=question.id, friend_id=response.friend_id, text=text, answered_at=at
        )
    )
    actions.save_text(
        session, field_id=question.save_field_id, text=text, friend_id=response.friend_id, survey_id=response.survey_id
    )
    return _next_turn(session, response)
