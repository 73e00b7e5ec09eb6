"""Answering in the chat: start or resume, answer, toggle, done, skip, free text, cancel; every step idempotent.

Each step moves a response from the question it was asked to the next one with a compare-and-set UPDATE, so
a double tap or a concurrent duplicate finds the question already answered and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, update
from sqlmodel import Session, select

from crm.sql import insert_for
from surveys import actions, builder, webhook_events
from surveys.errors import N_, SurveyError
from surveys.models import (
    QuestionKind,
    ResponseStatus,
    Survey,
    SurveyAnswer,
    SurveyChoice,
    SurveyQuestion,
    SurveyResponse,
    SurveyStatus,
    VersionState,
)
from surveys.questions import choices_of, list_questions

TEXT_MAX = 5000
CHAT = "chat"


@dataclass
class Turn:
    """What the chat shows next: ask a question, finish, or tell the friend why nothing happened."""

    status: str  # ask | done | cancelled | stale | repeat_refused | unavailable | web | retry
    survey: Survey | None = None
    response: SurveyResponse | None = None
    question: SurveyQuestion | None = None
    choices: list[SurveyChoice] = field(default_factory=list)
    selected: set[int] = field(default_factory=set)
    error: SurveyError | None = None
    resumed: bool = False
    first: bool = False


def in_progress(session: Session, friend_id: int) -> SurveyResponse | None:
    """The friend's unfinished chat response, if any (at most one)."""
    return session.exec(
        select(SurveyResponse).where(
            SurveyResponse.friend_id == friend_id, SurveyResponse.status == ResponseStatus.IN_PROGRESS
        )
    ).first()


def has_completed(session: Session, *, survey_id: int, friend_id: int) -> bool:
    """Tell whether the friend has finished this survey before."""
    return (
        session.exec(
            select(SurveyResponse.id).where(
                SurveyResponse.survey_id == survey_id,
                SurveyResponse.friend_id == friend_id,
                SurveyResponse.status == ResponseStatus.COMPLETED,
            )
        ).first()
        is not None
    )


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
        "ask",
        session.get(Survey, response.survey_id),
        response,
        question,
        choices_of(session, [question.id])[question.id],
        selected,
        **flags,
    )


def start(session: Session, *, survey_id: int, friend_id: int, at: datetime) -> Turn:
    """Start a survey in the chat, or resume the friend's unfinished response to it."""
    survey = session.get(Survey, survey_id)
    if survey is None or survey.status != SurveyStatus.PUBLISHED:
        return Turn("unavailable", survey)
    current = in_progress(session, friend_id)
    if current is not None and current.survey_id == survey_id:
        return ask(session, current, resumed=True)
    if not survey.allow_repeat and has_completed(session, survey_id=survey_id, friend_id=friend_id):
        return Turn("repeat_refused", survey)
    if survey.use_web_form:
        return Turn("web", survey)
    if current is not None:
        _finish(session, current, ResponseStatus.ABANDONED, at)
    live = builder.version(session, survey_id, VersionState.LIVE)
    first = list_questions(session, live.id)[0]
    created = session.exec(
        insert_for(session, SurveyResponse.__table__)
        .values(
            survey_id=survey_id,
            version_id=live.id,
            friend_id=friend_id,
            channel=CHAT,
            status=ResponseStatus.IN_PROGRESS,
            current_question_id=first.id,
            started_at=at,
            updated_at=at,
        )
        .on_conflict_do_nothing()
        .returning(SurveyResponse.__table__.c.id)
    ).first()
    if created is None:  # a concurrent start won: resume that one
        return ask(session, in_progress(session, friend_id), resumed=True)
    return ask(session, session.get(SurveyResponse, created[0]), first=True)


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
        return Turn("done", session.get(Survey, response.survey_id), response)
    return ask(session, response)


def answer_choice(
    session: Session, *, friend_id: int, response_id: int, question_id: int, choice_id: int, at: datetime
) -> Turn:
    """Answer a single-choice question (a quick-reply tap, or its label typed)."""
    response = _current(session, friend_id, response_id, question_id)
    question = session.get(SurveyQuestion, question_id)
    choice = session.get(SurveyChoice, choice_id)
    if response is None or choice is None or choice.question_id != question_id or question.kind != QuestionKind.SINGLE:
        return Turn("stale")
    if not _advance(session, response, question, at):
        return Turn("stale")
    session.add(
        SurveyAnswer(
            response_id=response.id, question_id=question_id, friend_id=friend_id, choice_id=choice_id, answered_at=at
        )
    )
    actions.apply(session, actions=actions.parse(choice.actions), friend_id=friend_id, survey_id=response.survey_id)
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
        return Turn("stale")
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
        return Turn("stale")
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
        return Turn("stale")
    current = ask(session, response)
    if current.question.kind != QuestionKind.MULTIPLE:
        return Turn("stale")
    if current.question.required and not current.selected:
        return Turn(
            "retry",
            current.survey,
            response,
            current.question,
            current.choices,
            error=SurveyError(N_("Choose at least one, then tap Done.")),
        )
    if not _advance(session, response, current.question, at):
        return Turn("stale")
    for choice in current.choices:
        if choice.id in current.selected:
            actions.apply(
                session, actions=actions.parse(choice.actions), friend_id=friend_id, survey_id=response.survey_id
            )
    return _next_turn(session, response)


def skip(session: Session, *, friend_id: int, response_id: int, question_id: int, at: datetime) -> Turn:
    """Skip an optional question."""
    response = _current(session, friend_id, response_id, question_id)
    question = session.get(SurveyQuestion, question_id)
    if response is None or question.required or not _advance(session, response, question, at):
        return Turn("stale")
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
        current.status, current.error = "retry", error
        return current
    if not _advance(session, response, question, at):
        return Turn("stale")
    session.add(
        SurveyAnswer(
            response_id=response.id, question_id=question.id, friend_id=response.friend_id, text=text, answered_at=at
        )
    )
    actions.save_text(
        session, field_id=question.save_field_id, text=text, friend_id=response.friend_id, survey_id=response.survey_id
    )
    return _next_turn(session, response)


def cancel(session: Session, *, friend_id: int, at: datetime, response_id: int | None = None) -> Turn | None:
    """Cancel the friend's unfinished response (answers so far are kept); None when there is none."""
    response = in_progress(session, friend_id)
    if response is None or (response_id is not None and response.id != response_id):
        return None
    _finish(session, response, ResponseStatus.CANCELLED, at)
    return Turn("cancelled", session.get(Survey, response.survey_id), response)


def abandon(session: Session, *, friend_id: int, at: datetime) -> bool:
    """Close the unfinished response of a friend who blocked the account; return whether there was one."""
    response = in_progress(session, friend_id)
    if response is not None:
        _finish(session, response, ResponseStatus.ABANDONED, at)
    return response is not None


def _finish(session: Session, response: SurveyResponse, status: str, at: datetime) -> None:
    response.status, response.current_question_id = status, None
    response.finished_at = response.updated_at = at
    session.add(response)
    session.flush()
