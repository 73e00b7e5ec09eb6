"""A friend's survey response in the chat: find it, start or resume it, cancel or abandon it."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from crm.sql import insert_for
from surveys import builder
from surveys.models import ResponseStatus, Survey, SurveyResponse, SurveyStatus, VersionState
from surveys.questions import list_questions
from surveys.turns import Turn, TurnStatus, ask

CHAT = "chat"


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


def start(session: Session, *, survey_id: int, friend_id: int, at: datetime) -> Turn:
    """Start a survey in the chat, or resume the friend's unfinished response to it."""
    survey = session.get(Survey, survey_id)
    if survey is None or survey.status != SurveyStatus.PUBLISHED:
        return Turn(TurnStatus.UNAVAILABLE, survey)
    current = in_progress(session, friend_id)
    if current is not None and current.survey_id == survey_id:
        return ask(session, current, resumed=True)
    if not survey.allow_repeat and has_completed(session, survey_id=survey_id, friend_id=friend_id):
        return Turn(TurnStatus.REPEAT_REFUSED, survey)
    if survey.use_web_form:
        return Turn(TurnStatus.WEB, survey)
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


def cancel(session: Session, *, friend_id: int, at: datetime, response_id: int | None = None) -> Turn | None:
    """Cancel the friend's unfinished response (answers so far are kept); None when there is none."""
    response = in_progress(session, friend_id)
    if response is None or (response_id is not None and response.id != response_id):
        return None
    _finish(session, response, ResponseStatus.CANCELLED, at)
    return Turn(TurnStatus.CANCELLED, session.get(Survey, response.survey_id), response)


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
