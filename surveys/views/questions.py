"""Editing the questions of a survey's draft version: add, change, move, delete."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from crm.actions import forms as action_forms
from crm.console.guard import current_actor, requires
from crm.db import get_session, unit_of_work
from crm.i18n import message_of
from surveys import questions
from surveys.errors import SurveyError
from surveys.forms import ActionForm, QuestionForm, split_actions
from surveys.questions import QUICK_REPLY_MAX
from surveys.views.builder import bp, load_survey, show_error


def _editable(survey_id: int):
    """The survey and its draft version; published questions are never edited in place."""
    survey = load_survey(survey_id)
    try:
        return survey, questions.draft_version(get_session(), survey_id)
    except SurveyError as error:
        flash(message_of(error), "error")
        return survey, None


def _editor_name(index: int) -> str:
    return f"choice{index}-actions"


def _render(survey, form: QuestionForm, question=None, status: int = 200, more: list[list[dict]] | None = None):
    """The question page; each choice row has an editor for its other actions (`more`, one list per choice)."""
    more = more or []
    editors = [
        action_forms.editor(get_session(), name=_editor_name(index), actions=more[index] if index < len(more) else [])
        for index in range(QUICK_REPLY_MAX)
    ]
    return render_template(
        "surveys/question.html",
        survey=survey,
        form=form,
        question=question,
        max_choices=QUICK_REPLY_MAX,
        action_editors=editors,
    ), status


def _submitted_more() -> list[list[dict]]:
    return [action_forms.parse_actions(request.form, _editor_name(index)) for index in range(QUICK_REPLY_MAX)]


def _save(survey, form: QuestionForm, write, question=None):
    """Validate and store the question through `write(db, spec)`; re-render with the error otherwise."""
    more = _submitted_more()
    if not form.validate_on_submit():
        return _render(survey, form, question, 400, more)
    with unit_of_work(SurveyError) as work:
        write(get_session(), form.spec(more))
    if work.failed:
        show_error(form, work.error, "text")
        return _render(survey, form, question, 400, more)
    flash(_("Question saved."), "success")
    return redirect(url_for("surveys.show", survey_id=survey.id, _anchor="questions"))


@bp.route("/<int:survey_id>/questions/new", methods=["GET", "POST"])
@requires("surveys.edit")
def new_question(survey_id: int):
    """Add a question to the draft."""
    survey, draft = _editable(survey_id)
    if draft is None:
        return redirect(url_for("surveys.show", survey_id=survey_id))
    db = get_session()
    if request.method == "GET":
        return _render(survey, QuestionForm(formdata=None).load_options(db))
    return _save(
        survey,
        QuestionForm().load_options(db),
        lambda db, spec: questions.add_question(db, survey_id=survey_id, spec=spec, actor=current_actor()),
    )


@bp.route("/<int:survey_id>/questions/<int:question_id>/edit", methods=["GET", "POST"])
@requires("surveys.edit")
def edit_question(survey_id: int, question_id: int):
    """Change a draft question and its choices."""
    survey, draft = _editable(survey_id)
    if draft is None:
        return redirect(url_for("surveys.show", survey_id=survey_id))
    db = get_session()
    try:
        question = questions.draft_question(db, survey_id, question_id)
    except SurveyError:
        abort(404)
    if request.method == "GET":
        choices = questions.choices_of(db, [question.id])[question.id]
        form = QuestionForm.of(question, choices).load_options(db)
        return _render(survey, form, question, more=[split_actions(choice)[1] for choice in choices])
    return _save(
        survey,
        QuestionForm().load_options(db),
        lambda db, spec: questions.update_question(
            db, survey_id=survey_id, question_id=question_id, spec=spec, actor=current_actor()
        ),
        question,
    )


def _change(survey_id: int, change):
    load_survey(survey_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    with unit_of_work(SurveyError) as work:
        change(get_session())
    if work.failed:
        if work.error.field == "not_found":
            abort(404)
        flash(message_of(work.error), "error")
    return redirect(url_for("surveys.show", survey_id=survey_id, _anchor="questions"))


@bp.post("/<int:survey_id>/questions/<int:question_id>/delete")
@requires("surveys.edit")
def delete_question(survey_id: int, question_id: int):
    """Remove a draft question."""
    return _change(
        survey_id,
        lambda db: questions.delete_question(db, survey_id=survey_id, question_id=question_id, actor=current_actor()),
    )


@bp.post("/<int:survey_id>/questions/<int:question_id>/move/<any(up, down):direction>")
@requires("surveys.edit")
def move_question(survey_id: int, question_id: int, direction: str):
    """Move a draft question up or down."""
    return _change(
        survey_id,
        lambda db: questions.move_question(
            db,
            survey_id=survey_id,
            question_id=question_id,
            offset=-1 if direction == "up" else 1,
            actor=current_actor(),
        ),
    )
