"""The survey builder in the console: list, create, settings, and publish / close / reopen / new version."""

from __future__ import annotations

from flask import Blueprint, Flask, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from crm.console.forms import form_error
from crm.console.guard import current_actor, requires
from crm.db import get_session, unit_of_work
from surveys import actions as choice_actions
from surveys import builder, questions
from surveys.chat_messages import start_data
from surveys.errors import SurveyError
from surveys.forms import KIND_LABELS, ActionForm, SettingsForm
from surveys.models import Survey, VersionState

bp = Blueprint("surveys", __name__, url_prefix="/surveys")


def init_app(app: Flask) -> None:
    """Register the builder, question and results views."""
    from surveys.views import questions as question_views  # noqa: F401  (their routes join this blueprint)
    from surveys.views import results as result_views  # noqa: F401

    app.register_blueprint(bp)


def load_survey(survey_id: int) -> Survey:
    """The survey, or 404."""
    survey = get_session().get(Survey, survey_id)
    if survey is None:
        abort(404)
    return survey


def show_error(form, error: SurveyError, default: str) -> None:
    """Show a service error on the form field it concerns (404 when the survey or question is gone)."""
    if error.field == "not_found":
        abort(404)
    form_error(form, error, default)


@bp.get("")
@requires("surveys.edit")
def index():
    """Every survey with its state, and a form for a new one."""
    return _index(SettingsForm(formdata=None))


def _index(form: SettingsForm, status: int = 200):
    return render_template("surveys/index.html", surveys=builder.list_surveys(get_session()), form=form), status


@bp.post("/new")
@requires("surveys.edit")
def create():
    """Create a draft survey."""
    form = SettingsForm()
    if not form.validate_on_submit():
        return _index(form, 400)
    with unit_of_work(SurveyError) as work:
        survey = builder.create_survey(get_session(), settings=form.settings(), actor=current_actor())
    if work.failed:
        show_error(form, work.error, "title")
        return _index(form, 400)
    flash(_("Survey “%(title)s” created. Add its questions.", title=survey.title), "success")
    return redirect(url_for("surveys.show", survey_id=survey.id))


@bp.get("/<int:survey_id>")
@requires("surveys.edit")
def show(survey_id: int):
    """A survey: settings, the questions being edited (or the live ones), and its state buttons."""
    db = get_session()
    survey = load_survey(survey_id)
    draft = builder.version(db, survey_id, VersionState.DRAFT)
    live = builder.version(db, survey_id, VersionState.LIVE)
    shown = draft or live
    listed = questions.list_questions(db, shown.id) if shown else []
    choices = questions.choices_of(db, [q.id for q in listed])
    return render_template(
        "surveys/show.html",
        survey=survey,
        draft=draft,
        live=live,
        questions=listed,
        choices=choices,
        choice_actions=choice_actions.described(db, [choice for group in choices.values() for choice in group]),
        kind_labels=KIND_LABELS,
        action_form=ActionForm(formdata=None),
        start_data=start_data(survey_id),
    )


@bp.route("/<int:survey_id>/settings", methods=["GET", "POST"])
@requires("surveys.edit")
def settings(survey_id: int):
    """Change a survey's title, messages, keyword and options."""
    survey = load_survey(survey_id)
    form = SettingsForm() if request.method == "POST" else SettingsForm.of(survey)
    if form.validate_on_submit():
        with unit_of_work(SurveyError) as work:
            builder.update_settings(get_session(), survey_id=survey_id, settings=form.settings(), actor=current_actor())
        if work.failed:
            show_error(form, work.error, "title")
        else:
            flash(_("Settings saved."), "success")
            return redirect(url_for("surveys.show", survey_id=survey_id))
    status = 400 if form.is_submitted() else 200
    return render_template("surveys/settings.html", survey=survey, form=form), status


def _state_change(survey_id: int, change, done_message: str):
    """Run a state change from a button; flash what happened."""
    load_survey(survey_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    with unit_of_work(SurveyError, flash_error=True) as work:
        change(get_session(), survey_id=survey_id, actor=current_actor())
    if not work.failed:
        flash(done_message, "success")
    return redirect(url_for("surveys.show", survey_id=survey_id))


@bp.post("/<int:survey_id>/publish")
@requires("surveys.edit")
def publish(survey_id: int):
    """Publish the draft questions (a new version when the survey was published before)."""
    return _state_change(survey_id, builder.publish, _("Published. New answers use these questions."))


@bp.post("/<int:survey_id>/revise")
@requires("surveys.edit")
def revise(survey_id: int):
    """Start a new version to edit the questions of a published survey."""
    return _state_change(
        survey_id,
        builder.start_revision,
        _("A new version was started. Friends keep answering the published one until you publish."),
    )


@bp.post("/<int:survey_id>/discard")
@requires("surveys.edit")
def discard(survey_id: int):
    """Throw away the unpublished new version."""
    return _state_change(survey_id, builder.discard_revision, _("The unpublished changes were discarded."))


@bp.post("/<int:survey_id>/close")
@requires("surveys.edit")
def close(survey_id: int):
    """Stop accepting answers."""
    return _state_change(
        survey_id, lambda db, **kw: builder.set_open(db, is_open=False, **kw), _("The survey is closed to new answers.")
    )


@bp.post("/<int:survey_id>/reopen")
@requires("surveys.edit")
def reopen(survey_id: int):
    """Accept answers again."""
    return _state_change(
        survey_id, lambda db, **kw: builder.set_open(db, is_open=True, **kw), _("The survey accepts answers again.")
    )
