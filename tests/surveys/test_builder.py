"""Builder rules checked by the services every edge uses: actions, field values, versions."""

import pytest
from sqlmodel import select

from crm.db import get_engine, session_scope
from crm.fields import service as fields
from surveys import builder, questions
from surveys.errors import SurveyError
from surveys.models import SurveyQuestion, SurveyVersion
from surveys.questions import ChoiceSpec, QuestionSpec
from tests.factories import make_tag
from tests.surveys.helpers import EDITOR, build_survey, free, single


def add(app, survey_id: int, spec: QuestionSpec):
    with session_scope(get_engine(app)) as session:
        return questions.add_question(session, survey_id=survey_id, spec=spec, actor=EDITOR).id


def refused(app, survey_id: int, spec: QuestionSpec) -> str:
    with pytest.raises(SurveyError) as caught:
        add(app, survey_id, spec)
    return str(caught.value)


def test_choice_actions_are_checked(app):
    survey_id = build_survey(app, publish=False)
    tag = make_tag(app, "vip")
    with session_scope(get_engine(app)) as session:
        store = fields.create_definition(
            session,
            spec=fields.FieldSpec(key="store", label="Store", field_type="choice", choices=("Shibuya",)),
            actor=EDITOR,
        ).id
    choice = lambda **kw: QuestionSpec(kind="single", text="Q", choices=(ChoiceSpec("A", **kw),))  # noqa: E731
    assert "that tag no longer exists" in refused(app, survey_id, choice(add_tag_id=9999))
    assert "added and removed at once" in refused(app, survey_id, choice(add_tag_id=tag, remove_tag_id=tag))
    assert "choose one of Shibuya" in refused(app, survey_id, choice(field_id=store, field_value="Umeda"))
    assert "This field no longer exists" in refused(app, survey_id, choice(field_id=9999, field_value="x"))
    assert "no longer exists" in refused(app, survey_id, free("Q", save_field_id=9999))
    assert "choose single choice" in refused(app, survey_id, QuestionSpec(kind="rating", text="Q"))
    assert "Question: enter 1 to" in refused(app, survey_id, single("  ", "A"))
    add(app, survey_id, choice(add_tag_id=tag, field_id=store, field_value=" Shibuya "))


def test_live_questions_cannot_be_edited_in_place(app):
    survey_id = build_survey(app, single("Q", "A", "B"))
    with session_scope(get_engine(app)) as session:
        live_question = session.exec(select(SurveyQuestion)).one().id
    with pytest.raises(SurveyError, match="start a new version"):
        add(app, survey_id, single("Another", "A"))
    with session_scope(get_engine(app)) as session, pytest.raises(SurveyError):
        questions.update_question(
            session, survey_id=survey_id, question_id=live_question, spec=single("X", "A"), actor=EDITOR
        )


def test_a_revision_can_be_discarded(app):
    survey_id = build_survey(app, single("Q", "A", "B"))
    with session_scope(get_engine(app)) as session:
        draft = builder.start_revision(session, survey_id=survey_id, actor=EDITOR)
        again = builder.start_revision(session, survey_id=survey_id, actor=EDITOR)
        assert again.id == draft.id  # one draft at a time
        builder.discard_revision(session, survey_id=survey_id, actor=EDITOR)
    with session_scope(get_engine(app)) as session:
        assert session.exec(select(SurveyVersion.number, SurveyVersion.state)).all() == [(1, "live")]
        assert len(session.exec(select(SurveyQuestion)).all()) == 1


def test_closing_needs_a_published_survey(app):
    draft = build_survey(app, single("Q", "A"), publish=False)
    with session_scope(get_engine(app)) as session, pytest.raises(SurveyError):
        builder.set_open(session, survey_id=draft, is_open=False, actor=EDITOR)
