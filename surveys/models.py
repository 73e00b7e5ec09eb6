"""Survey tables (アンケート): surveys, their frozen versions of questions, responses and answers."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, Index, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from crm.columns import utc_field
from crm.timeutil import utcnow


class SurveyStatus(StrEnum):
    """Values of Survey.status."""

    DRAFT = "draft"
    PUBLISHED = "published"
    CLOSED = "closed"


class VersionState(StrEnum):
    """Values of SurveyVersion.state: a draft is editable, live answers new responses, retired is kept."""

    DRAFT = "draft"
    LIVE = "live"
    RETIRED = "retired"


class QuestionKind(StrEnum):
    """Values of SurveyQuestion.kind."""

    SINGLE = "single"
    MULTIPLE = "multiple"
    TEXT = "text"


class ResponseStatus(StrEnum):
    """Values of SurveyResponse.status."""

    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    ABANDONED = "abandoned"


class Survey(SQLModel, table=True):
    """A survey's settings; its questions live in versions."""

    __tablename__ = "survey"

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=100)
    intro: str | None = Field(default=None, sa_column=Column(Text))
    completion_message: str | None = Field(default=None, sa_column=Column(Text))
    keyword: str | None = Field(default=None, max_length=50, unique=True)
    allow_repeat: bool = Field(default=False)
    use_web_form: bool = Field(default=False)
    status: str = Field(default=SurveyStatus.DRAFT, max_length=12)
    created_at: datetime = utc_field(nullable=False, default_factory=utcnow)
    updated_at: datetime = utc_field(nullable=False, default_factory=utcnow)


class SurveyVersion(SQLModel, table=True):
    """One frozen set of questions; answers always point at the version they were given to."""

    __tablename__ = "survey_version"
    __table_args__ = (UniqueConstraint("survey_id", "number", name="uq_survey_version_number"),)

    id: int | None = Field(default=None, primary_key=True)
    survey_id: int = Field(foreign_key="survey.id", index=True)
    number: int
    state: str = Field(default=VersionState.DRAFT, max_length=10)
    created_at: datetime = utc_field(nullable=False, default_factory=utcnow)
    published_at: datetime | None = utc_field()


class SurveyQuestion(SQLModel, table=True):
    """A question of a version: single choice, multiple choice or free text."""

    __tablename__ = "survey_question"

    id: int | None = Field(default=None, primary_key=True)
    version_id: int = Field(foreign_key="survey_version.id", index=True)
    position: int = Field(default=0)
    kind: str = Field(max_length=10)
    text: str = Field(sa_column=Column(Text, nullable=False))
    required: bool = Field(default=True)
    save_field_id: int | None = Field(default=None)


class SurveyChoice(SQLModel, table=True):
    """A choice of a question, with the actions (JSON list) applied when a friend picks it."""

    __tablename__ = "survey_choice"

    id: int | None = Field(default=None, primary_key=True)
    question_id: int = Field(foreign_key="survey_question.id", index=True)
    position: int = Field(default=0)
    label: str = Field(max_length=20)
    actions: str = Field(default="[]", sa_column=Column(Text, nullable=False))


class SurveyResponse(SQLModel, table=True):
    """One friend answering one version, in the chat or the web form."""

    __tablename__ = "survey_response"
    __table_args__ = (
        Index("ix_survey_response_survey_friend", "survey_id", "friend_id"),
        Index(
            "uq_survey_response_active_friend",
            "friend_id",
            unique=True,
            sqlite_where=text(f"status = '{ResponseStatus.IN_PROGRESS}'"),
            postgresql_where=text(f"status = '{ResponseStatus.IN_PROGRESS}'"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    survey_id: int = Field(foreign_key="survey.id")
    version_id: int = Field(foreign_key="survey_version.id", index=True)
    friend_id: int = Field(foreign_key="friend.id", index=True)
    channel: str = Field(max_length=8)
    status: str = Field(default=ResponseStatus.IN_PROGRESS, max_length=12)
    current_question_id: int | None = Field(default=None)
    submission_key: str | None = Field(default=None, max_length=36, unique=True)
    started_at: datetime = utc_field(nullable=False, default_factory=utcnow)
    updated_at: datetime = utc_field(nullable=False, default_factory=utcnow)
    finished_at: datetime | None = utc_field()


class SurveyAnswer(SQLModel, table=True):
    """A friend's answer to one question: a picked choice (one row each) or free text."""

    __tablename__ = "survey_answer"
    __table_args__ = (
        UniqueConstraint("response_id", "question_id", "choice_id", name="uq_survey_answer_choice"),
        Index("ix_survey_answer_question", "question_id", "choice_id", "friend_id"),  # covering: segments
    )

    id: int | None = Field(default=None, primary_key=True)
    response_id: int = Field(foreign_key="survey_response.id", index=True)
    question_id: int = Field(foreign_key="survey_question.id")
    friend_id: int = Field(foreign_key="friend.id", index=True)
    choice_id: int | None = Field(default=None, foreign_key="survey_choice.id")
    text: str | None = Field(default=None, sa_column=Column(Text))
    answered_at: datetime = utc_field(nullable=False, default_factory=utcnow)
