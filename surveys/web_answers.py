"""Answering in the web form: all answers at once, validated per question, stored once per submission key."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from crm.errors import N_
from crm.friends.models import Friend, FriendStatus
from crm.sql import insert_for
from surveys import action_kinds, actions, builder, webhook_events
from surveys.answers import TEXT_MAX
from surveys.errors import SurveyError
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
from surveys.responses import has_completed, in_progress

WEB = "web"


class AnswerErrors(SurveyError):
    """Some answers cannot be accepted: SurveyErrors by question id."""

    def __init__(self, errors: dict[int, SurveyError]):
        super().__init__(N_("Some answers need your attention."))
        self.errors = errors


def open_survey(session: Session, *, survey_id: int, friend_id: int) -> tuple[Survey, list[SurveyQuestion]]:
    """The survey and its live questions, if this friend may answer it now (an erased friend never may); a
    SurveyError otherwise."""
    friend = session.get(Friend, friend_id)
    if friend is None or friend.status == FriendStatus.ERASED:
        raise SurveyError(N_("This survey is not open for answers at the moment."), field="closed")
    survey = session.get(Survey, survey_id)
    live = builder.version(session, survey_id, VersionState.LIVE) if survey else None
    if survey is None or live is None or survey.status != SurveyStatus.PUBLISHED:
        raise SurveyError(N_("This survey is not open for answers at the moment."), field="closed")
    if not survey.allow_repeat and has_completed(session, survey_id=survey_id, friend_id=friend_id):
        raise SurveyError(N_("You have already answered this survey. Thank you!"), field="answered")
    return survey, list_questions(session, live.id)


def _chosen(question: SurveyQuestion, choices: list[SurveyChoice], raw: list[str]) -> list[SurveyChoice]:
    by_id = {str(c.id): c for c in choices}
    picked = [by_id[value] for value in dict.fromkeys(raw) if value in by_id]
    if len(picked) != len(set(raw)) or (question.kind == QuestionKind.SINGLE and len(picked) > 1):
        raise SurveyError(N_("Choose from the choices shown."))
    if question.required and not picked:
        raise SurveyError(
            N_("Choose an answer.") if question.kind == QuestionKind.SINGLE else N_("Choose at least one answer.")
        )
    return picked


def _text(session: Session, question: SurveyQuestion, raw: list[str]) -> str:
    text = (raw[0] if raw else "").replace("\r\n", "\n").strip()
    if question.required and not text:
        raise SurveyError(N_("Enter an answer."))
    if len(text) > TEXT_MAX:
        raise SurveyError(N_("Please answer in 1 to %(max)d characters."), max=TEXT_MAX)
    if text:
        actions.check_text(session, field_id=question.save_field_id, text=text)
    return text


def validate(session: Session, questions: list[SurveyQuestion], values: dict[int, list[str]]) -> dict:
    """The accepted answer of each question (choices or text); AnswerErrors lists every problem."""
    choices = choices_of(session, [q.id for q in questions])
    accepted, errors = {}, {}
    for question in questions:
        raw = [v for v in values.get(question.id, []) if v is not None]
        try:
            if question.kind == QuestionKind.TEXT:
                accepted[question.id] = _text(session, question, raw)
            else:
                accepted[question.id] = _chosen(question, choices[question.id], raw)
        except SurveyError as error:
            errors[question.id] = error
    if errors:
        raise AnswerErrors(errors)
    return accepted


def submit(
    session: Session, *, survey_id: int, friend_id: int, values: dict[int, list[str]], submission_key: str, at: datetime
) -> SurveyResponse:
    """Store a web-form response and apply its actions; the same submission key stores nothing twice."""
    existing = session.exec(select(SurveyResponse).where(SurveyResponse.submission_key == submission_key)).first()
    if existing is not None and existing.friend_id == friend_id:
        return existing
    survey, questions = open_survey(session, survey_id=survey_id, friend_id=friend_id)
    accepted = validate(session, questions, values)
    created = session.exec(
        insert_for(session, SurveyResponse.__table__)
        .values(
            survey_id=survey_id,
            version_id=questions[0].version_id,
            friend_id=friend_id,
            channel=WEB,
            status=ResponseStatus.COMPLETED,
            submission_key=submission_key,
            started_at=at,
            updated_at=at,
            finished_at=at,
        )
        .on_conflict_do_nothing()
        .returning(SurveyResponse.__table__.c.id)
    ).first()
    if created is None:  # the same form was submitted twice at once
        return session.exec(select(SurveyResponse).where(SurveyResponse.submission_key == submission_key)).one()
    chat = in_progress(session, friend_id)
    if chat is not None and chat.survey_id == survey_id:
        chat.status, chat.current_question_id, chat.finished_at = ResponseStatus.ABANDONED, None, at
    for question in questions:
        _store(
            session,
            question,
            accepted[question.id],
            response_id=created[0],
            friend_id=friend_id,
            survey_id=survey_id,
            at=at,
        )
    webhook_events.survey_answered(session, response_id=created[0])
    action_kinds.survey_completed(session, response_id=created[0])
    return session.get(SurveyResponse, created[0])


def _store(
    session: Session,
    question: SurveyQuestion,
    answer,
    *,
    response_id: int,
    friend_id: int,
    survey_id: int,
    at: datetime,
) -> None:
    if question.kind == QuestionKind.TEXT:
        if answer:
            session.add(
                SurveyAnswer(
                    response_id=response_id, question_id=question.id, friend_id=friend_id, text=answer, answered_at=at
                )
            )
            actions.save_text(
                session, field_id=question.save_field_id, text=answer, friend_id=friend_id, survey_id=survey_id
            )
        return
    for choice in answer:
        stored = SurveyAnswer(
            response_id=response_id, question_id=question.id, friend_id=friend_id, choice_id=choice.id, answered_at=at
        )
        session.add(stored)
        session.flush()
        actions.apply(
            session,
            actions=actions.parse(choice.actions),
            friend_id=friend_id,
            survey_id=survey_id,
            answer_id=stored.id,
        )
