"""Building surveys: settings, and the draft → published → closed states with frozen versions."""

from __future__ import annotations

import unicodedata
from dataclasses import asdict, dataclass

from sqlalchemy import func
from sqlmodel import Session, select

from crm.chat.service import utf16_length
from crm.errors import N_
from crm.staff.audit import Actor, record
from crm.timeutil import utcnow
from surveys import questions
from surveys.errors import SurveyError
from surveys.models import Survey, SurveyStatus, SurveyVersion, VersionState

TITLE_MAX = 100
MESSAGE_MAX_UTF16 = 5000
KEYWORD_MAX = 50
CANCEL_WORDS = ("キャンセル", "cancel", "やめる", "中止")


@dataclass(frozen=True)
class SurveySettings:
    """What an editor sets on a survey besides its questions."""

    title: str
    intro: str = ""
    completion_message: str = ""
    keyword: str = ""
    allow_repeat: bool = False
    use_web_form: bool = False


def normalize_keyword(text: str | None) -> str:
    """The form keywords are compared in: NFKC, trimmed, case-folded."""
    return unicodedata.normalize("NFKC", text or "").strip().casefold()


def is_cancel_word(text: str | None) -> bool:
    """Tell whether a friend's message asks to cancel the survey in progress."""
    return normalize_keyword(text) in {normalize_keyword(word) for word in CANCEL_WORDS}


def get_survey(session: Session, survey_id: int) -> Survey:
    """The survey with this id, or a SurveyError."""
    survey = session.get(Survey, survey_id)
    if survey is None:
        raise SurveyError(N_("This survey no longer exists."), field="not_found")
    return survey


def list_surveys(session: Session) -> list[Survey]:
    """Every survey, newest first."""
    return list(session.exec(select(Survey).order_by(Survey.created_at.desc(), Survey.id.desc())).all())


def version(session: Session, survey_id: int, state: str) -> SurveyVersion | None:
    """The survey's draft or live version, if it has one."""
    return session.exec(
        select(SurveyVersion).where(SurveyVersion.survey_id == survey_id, SurveyVersion.state == state)
    ).first()


def find_by_keyword(session: Session, text: str) -> Survey | None:
    """The published survey whose start keyword is this message."""
    keyword = normalize_keyword(text)
    if not keyword:
        return None
    return session.exec(
        select(Survey).where(Survey.keyword == keyword, Survey.status == SurveyStatus.PUBLISHED)
    ).first()


def _check(session: Session, settings: SurveySettings, survey_id: int | None) -> SurveySettings:
    title = settings.title.strip()
    if not title or len(title) > TITLE_MAX:
        raise SurveyError(N_("Title: enter 1 to %(max)d characters."), max=TITLE_MAX, field="title")
    for name, value in (("intro", settings.intro), ("completion_message", settings.completion_message)):
        if utf16_length(value or "") > MESSAGE_MAX_UTF16:
            raise SurveyError(N_("Use at most %(max)d characters."), max=MESSAGE_MAX_UTF16, field=name)
    keyword = normalize_keyword(settings.keyword)
    if len(keyword) > KEYWORD_MAX:
        raise SurveyError(N_("Keyword: use at most %(max)d characters."), max=KEYWORD_MAX, field="keyword")
    if keyword and is_cancel_word(keyword):
        raise SurveyError(
            N_("Keyword: “%(word)s” is the word friends use to cancel a survey."), word=keyword, field="keyword"
        )
    clash = session.exec(select(Survey.id).where(Survey.keyword == keyword)).first() if keyword else None
    if clash is not None and clash != survey_id:
        raise SurveyError(N_("Keyword: another survey already starts with “%(word)s”."), word=keyword, field="keyword")
    return SurveySettings(
        title=title,
        intro=(settings.intro or "").strip(),
        keyword=keyword,
        completion_message=(settings.completion_message or "").strip(),
        allow_repeat=settings.allow_repeat,
        use_web_form=settings.use_web_form,
    )


def _apply(survey: Survey, settings: SurveySettings) -> None:
    survey.title, survey.intro = settings.title, settings.intro or None
    survey.completion_message, survey.keyword = settings.completion_message or None, settings.keyword or None
    survey.allow_repeat, survey.use_web_form, survey.updated_at = settings.allow_repeat, settings.use_web_form, utcnow()


def snapshot(survey: Survey) -> dict:
    """The audited form of a survey's settings."""
    return {
        "title": survey.title,
        "keyword": survey.keyword,
        "allow_repeat": survey.allow_repeat,
        "use_web_form": survey.use_web_form,
        "status": survey.status,
    }


def create_survey(session: Session, *, settings: SurveySettings, actor: Actor) -> Survey:
    """Create a draft survey with an empty first version (audited)."""
    settings = _check(session, settings, None)
    survey = Survey(title=settings.title)
    _apply(survey, settings)
    session.add(survey)
    session.flush()
    session.add(SurveyVersion(survey_id=survey.id, number=1, state=VersionState.DRAFT))
    record(
        session,
        actor=actor,
        action="survey.created",
        target_type="survey",
        target_id=survey.id,
        after={**snapshot(survey), **asdict(settings)},
    )
    return survey


def update_settings(session: Session, *, survey_id: int, settings: SurveySettings, actor: Actor) -> Survey:
    """Change a survey's title, messages, keyword and options (allowed in every state; audited)."""
    survey = get_survey(session, survey_id)
    settings = _check(session, settings, survey_id)
    before = snapshot(survey)
    _apply(survey, settings)
    record(
        session,
        actor=actor,
        action="survey.settings_changed",
        target_type="survey",
        target_id=survey_id,
        before=before,
        after={**snapshot(survey), **asdict(settings)},
    )
    return survey


def publish(session: Session, *, survey_id: int, actor: Actor) -> SurveyVersion:
    """Make the draft version live (the previous live one is retired, its answers kept)."""
    survey = get_survey(session, survey_id)
    draft = version(session, survey_id, VersionState.DRAFT)
    if draft is None:
        raise SurveyError(N_("There are no changes to publish."))
    if not questions.list_questions(session, draft.id):
        raise SurveyError(N_("Add at least one question before publishing."))
    live = version(session, survey_id, VersionState.LIVE)
    if live is not None:
        live.state = VersionState.RETIRED
        session.flush()
    draft.state, draft.published_at = VersionState.LIVE, utcnow()
    before = snapshot(survey)
    survey.status = SurveyStatus.PUBLISHED if survey.status == SurveyStatus.DRAFT else survey.status
    survey.updated_at = utcnow()
    record(
        session,
        actor=actor,
        action="survey.published",
        target_type="survey",
        target_id=survey_id,
        before=before,
        after={**snapshot(survey), "version": draft.number},
    )
    return draft


def start_revision(session: Session, *, survey_id: int, actor: Actor) -> SurveyVersion:
    """Copy the live questions into a new draft version to edit; the live one is never edited in place."""
    get_survey(session, survey_id)
    draft = version(session, survey_id, VersionState.DRAFT)
    if draft is not None:
        return draft
    live = version(session, survey_id, VersionState.LIVE)
    if live is None:
        raise SurveyError(N_("This survey has no published version."))
    number = session.exec(select(func.max(SurveyVersion.number)).where(SurveyVersion.survey_id == survey_id)).one()
    draft = SurveyVersion(survey_id=survey_id, number=number + 1, state=VersionState.DRAFT)
    session.add(draft)
    session.flush()
    questions.copy_questions(session, from_version_id=live.id, to_version_id=draft.id)
    record(
        session,
        actor=actor,
        action="survey.revision_started",
        target_type="survey",
        target_id=survey_id,
        after={"version": draft.number, "from_version": live.number},
    )
    return draft


def discard_revision(session: Session, *, survey_id: int, actor: Actor) -> None:
    """Throw away an unpublished revision of a published survey."""
    if version(session, survey_id, VersionState.LIVE) is None:
        raise SurveyError(N_("A survey that was never published keeps its draft."))
    draft = version(session, survey_id, VersionState.DRAFT)
    if draft is None:
        return
    questions.delete_version_questions(session, version_id=draft.id)
    record(
        session,
        actor=actor,
        action="survey.revision_discarded",
        target_type="survey",
        target_id=survey_id,
        before={"version": draft.number},
    )
    session.delete(draft)


def set_open(session: Session, *, survey_id: int, is_open: bool, actor: Actor) -> Survey:
    """Close a published survey to new answers, or reopen a closed one."""
    survey = get_survey(session, survey_id)
    allowed_from = SurveyStatus.CLOSED if is_open else SurveyStatus.PUBLISHED
    if survey.status != allowed_from:
        raise SurveyError(N_("Only a published survey can be closed, and only a closed one reopened."))
    before = snapshot(survey)
    survey.status = SurveyStatus.PUBLISHED if is_open else SurveyStatus.CLOSED
    survey.updated_at = utcnow()
    record(
        session,
        actor=actor,
        action="survey.reopened" if is_open else "survey.closed",
        target_type="survey",
        target_id=survey_id,
        before=before,
        after=snapshot(survey),
    )
    return survey
