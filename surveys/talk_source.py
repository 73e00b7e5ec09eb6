"""Surveys in the chat inbox's talk view: each answer with its question and survey, and survey taps in words."""

from __future__ import annotations

from sqlmodel import Session, select

from crm.errors import N_
from crm.i18n import translate
from crm.inbox.talk import Side, TalkItem, Window, bounded
from surveys.chat_messages import parse_data
from surveys.models import Survey, SurveyAnswer, SurveyChoice, SurveyQuestion, SurveyResponse


def answer_items(session: Session, friend_id: int, window: Window) -> list[TalkItem]:
    """The friend's answers (a picked choice or free text), newest first within the window."""
    query = (
        select(SurveyAnswer.id, SurveyAnswer.answered_at, SurveyAnswer.text, SurveyChoice.label)
        .add_columns(SurveyQuestion.text, Survey.title)
        .join(SurveyQuestion, SurveyQuestion.id == SurveyAnswer.question_id)
        .join(SurveyResponse, SurveyResponse.id == SurveyAnswer.response_id)
        .join(Survey, Survey.id == SurveyResponse.survey_id)
        .outerjoin(SurveyChoice, SurveyChoice.id == SurveyAnswer.choice_id)
        .where(SurveyAnswer.friend_id == friend_id)
    )
    rows = session.exec(bounded(query, SurveyAnswer.answered_at, SurveyAnswer.id, window)).all()
    return [
        TalkItem(
            at=answered_at,
            source="survey-answer",
            ref=answer_id,
            side=Side.FRIEND,
            origin=translate(N_("Answer to the survey “%(survey)s”"), {"survey": title}),
            label=question,
            text=label if label is not None else text,
        )
        for answer_id, answered_at, text, label, question, title in rows
    ]


# A survey postback's operation in words (surveys.chat_messages: s start, a answer, t toggle, d done, k skip,
# c cancel).
TAP_WORDS = {
    "a": N_("Picked an answer"),
    "t": N_("Ticked or cleared a choice"),
    "d": N_("Finished choosing"),
    "k": N_("Skipped a question"),
    "c": N_("Cancelled the survey"),
}


def describe_tap(session: Session, data: str) -> str | None:
    """A survey postback in words: 「アンケート「来店アンケート」を開始」, 「回答を選択」…"""
    parsed = parse_data(data)
    if parsed is None:
        return None
    op, ids = parsed
    if op == "s":
        survey = session.get(Survey, ids[0])
        return translate(N_("Started the survey “%(survey)s”"), {"survey": survey.title if survey else ids[0]})
    return translate(TAP_WORDS[op]) if op in TAP_WORDS else None
