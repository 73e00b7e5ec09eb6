"""Survey results: response counts and completion, per-question counts, free text, per-friend answers, CSV rows."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, func, or_
from sqlmodel import Session, select

from crm.friends.models import Friend
from surveys.models import (
    QuestionKind,
    ResponseStatus,
    Survey,
    SurveyAnswer,
    SurveyChoice,
    SurveyQuestion,
    SurveyResponse,
    SurveyVersion,
    VersionState,
)
from surveys.questions import choices_of, list_questions

BATCH = 500
FINAL = or_(
    SurveyResponse.status != ResponseStatus.IN_PROGRESS, SurveyResponse.current_question_id != SurveyAnswer.question_id
)  # a pending multiple choice is not final


@dataclass
class Summary:
    """How many started, finished, cancelled or left a survey, and the completion rate."""

    counts: dict[str, int]
    friends: int
    by_channel: dict[str, int]

    @property
    def started(self) -> int:
        return sum(self.counts.values())

    @property
    def completion_rate(self) -> float | None:
        return None if not self.started else self.counts.get(ResponseStatus.COMPLETED, 0) / self.started


@dataclass
class QuestionResult:
    """One question's answers: count per choice, or the latest free texts."""

    question: SurveyQuestion
    answered: int
    choices: list[tuple[SurveyChoice, int]] = field(default_factory=list)
    texts: list[tuple[int, str, datetime]] = field(default_factory=list)


def summary(session: Session, survey_id: int) -> Summary:
    """Response counts by status and channel, and how many friends responded."""
    where = SurveyResponse.survey_id == survey_id
    counts = dict(
        session.exec(select(SurveyResponse.status, func.count()).where(where).group_by(SurveyResponse.status)).all()
    )
    channels = dict(
        session.exec(select(SurveyResponse.channel, func.count()).where(where).group_by(SurveyResponse.channel)).all()
    )
    friends = session.exec(select(func.count(func.distinct(SurveyResponse.friend_id))).where(where)).one()
    return Summary(counts=counts, friends=friends, by_channel=channels)


def versions_with_answers(session: Session, survey_id: int) -> list[SurveyVersion]:
    """The survey's versions that are live or have responses, newest first."""
    answered = select(SurveyResponse.version_id).where(SurveyResponse.survey_id == survey_id)
    return list(
        session.exec(
            select(SurveyVersion)
            .where(
                SurveyVersion.survey_id == survey_id,
                or_(SurveyVersion.state == VersionState.LIVE, SurveyVersion.id.in_(answered)),
            )
            .order_by(SurveyVersion.number.desc())
        )
    )


def question_results(session: Session, version_id: int, *, text_limit: int = 200) -> list[QuestionResult]:
    """Per-question results of one version (final answers only)."""
    questions = list_questions(session, version_id)
    choices = choices_of(session, [q.id for q in questions])
    base = (
        select(SurveyAnswer.question_id, SurveyAnswer.choice_id, func.count())
        .join(SurveyResponse, SurveyResponse.id == SurveyAnswer.response_id)
        .where(FINAL)
        .where(SurveyAnswer.question_id.in_([q.id for q in questions]))
        .group_by(SurveyAnswer.question_id, SurveyAnswer.choice_id)
    )
    per_choice = {(qid, cid): n for qid, cid, n in session.exec(base)}
    answered = dict(
        session.exec(
            select(SurveyAnswer.question_id, func.count(func.distinct(SurveyAnswer.response_id)))
            .join(SurveyResponse, SurveyResponse.id == SurveyAnswer.response_id)
            .where(FINAL)
            .where(SurveyAnswer.question_id.in_([q.id for q in questions]))
            .group_by(SurveyAnswer.question_id)
        ).all()
    )
    results = []
    for question in questions:
        result = QuestionResult(question, answered.get(question.id, 0))
        if question.kind == QuestionKind.TEXT:
            result.texts = list(
                session.exec(
                    select(SurveyAnswer.friend_id, SurveyAnswer.text, SurveyAnswer.answered_at)
                    .where(SurveyAnswer.question_id == question.id)
                    .order_by(SurveyAnswer.answered_at.desc(), SurveyAnswer.id.desc())
                    .limit(text_limit)
                ).all()
            )
        else:
            result.choices = [(c, per_choice.get((question.id, c.id), 0)) for c in choices[question.id]]
        results.append(result)
    return results


@dataclass
class ResponseRow:
    """One response with its friend and answers (question id → labels or text)."""

    response: SurveyResponse
    friend: Friend
    answers: dict[int, list[str]]


def _answers_by_response(session: Session, response_ids: list[int]) -> dict[int, dict[int, list[str]]]:
    found: dict[int, dict[int, list[str]]] = {rid: {} for rid in response_ids}
    rows = session.exec(
        select(SurveyAnswer, SurveyChoice.label)
        .join(SurveyChoice, SurveyChoice.id == SurveyAnswer.choice_id, isouter=True)
        .where(SurveyAnswer.response_id.in_(response_ids))
        .order_by(SurveyAnswer.question_id, SurveyChoice.position, SurveyAnswer.id)
    )
    for answer, label in rows:
        found[answer.response_id].setdefault(answer.question_id, []).append(label if label is not None else answer.text)
    return found


def response_rows(
    session: Session, survey_id: int, *, before_id: int | None = None, limit: int = 100
) -> list[ResponseRow]:
    """Responses newest first (keyset by id), each with its friend and answers."""
    query = (
        select(SurveyResponse, Friend)
        .join(Friend, Friend.id == SurveyResponse.friend_id)
        .where(SurveyResponse.survey_id == survey_id)
        .order_by(SurveyResponse.id.desc())
        .limit(limit)
    )
    if before_id is not None:
        query = query.where(SurveyResponse.id < before_id)
    pairs = list(session.exec(query))
    answers = _answers_by_response(session, [r.id for r, _ in pairs])
    return [ResponseRow(response, friend, answers[response.id]) for response, friend in pairs]


def csv_columns(session: Session, survey_id: int) -> list[tuple[str, list[int]]]:
    """One column per question text, newest version's order first; unchanged questions share a column."""
    columns: dict[tuple[str, str], list[int]] = {}
    for version in versions_with_answers(session, survey_id):
        for question in list_questions(session, version.id):
            columns.setdefault((question.kind, question.text), []).append(question.id)
    return [(text, ids) for (_kind, text), ids in columns.items()]


def response_batches(session: Session, survey_id: int) -> Iterator[list[ResponseRow]]:
    """Every response in batches (oldest first), for exports."""
    after = 0
    while True:
        query = (
            select(SurveyResponse, Friend)
            .join(Friend, Friend.id == SurveyResponse.friend_id)
            .where(and_(SurveyResponse.survey_id == survey_id, SurveyResponse.id > after))
            .order_by(SurveyResponse.id)
            .limit(BATCH)
        )
        pairs = list(session.exec(query))
        if not pairs:
            return
        answers = _answers_by_response(session, [r.id for r, _ in pairs])
        yield [ResponseRow(response, friend, answers[response.id]) for response, friend in pairs]
        after = pairs[-1][0].id


@dataclass
class FriendSurvey:
    """One of a friend's responses as the friend page shows it."""

    survey: Survey
    response: SurveyResponse
    answers: list[tuple[SurveyQuestion, list[str]]]


def answers_for_friend(session: Session, friend_id: int, *, limit: int = 50) -> list[FriendSurvey]:
    """A friend's survey responses, newest first, each with its questions and answers in order."""
    pairs = list(
        session.exec(
            select(SurveyResponse, Survey)
            .join(Survey, Survey.id == SurveyResponse.survey_id)
            .where(SurveyResponse.friend_id == friend_id)
            .order_by(SurveyResponse.started_at.desc(), SurveyResponse.id.desc())
            .limit(limit)
        )
    )
    answers = _answers_by_response(session, [r.id for r, _ in pairs])
    found = []
    for response, survey in pairs:
        given = answers[response.id]
        ordered = [(q, given[q.id]) for q in list_questions(session, response.version_id) if q.id in given]
        found.append(FriendSurvey(survey, response, ordered))
    return found
