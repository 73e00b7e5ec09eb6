"""A scenario's steps in the console: add, edit, move up or down, delete; and the test run to the test friends."""

from __future__ import annotations

import json

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlmodel import Session, select
from wtforms.fields import SelectChoice

from crm.actions import forms as action_forms
from crm.broadcasts import testers as test_friends
from crm.console.forms import form_error
from crm.console.guard import current_actor, requires
from crm.db import get_session, unit_of_work
from crm.fields.models import FieldDefinition, FieldType
from crm.friends.models import Friend
from crm.line.runtime import line_client
from crm.message_templates.models import MessageTemplate
from crm.permissions import visible_name
from crm.scenarios import builder, testrun
from crm.scenarios.checks import ScenarioError
from crm.scenarios.forms import ActionForm, StepForm, step_data
from crm.scenarios.models import ScenarioStep
from crm.scenarios.views import load, resolve_segment, segment_choices

bp = Blueprint("scenario_steps", __name__, url_prefix="/scenarios")
FORM_FIELDS = {
    "step_name": "name",
    "condition_tree": "condition_segment",
    "at_minute": "at_time",
    "delay_minutes": "delay_amount",
}


def _step_form(db: Session, step: ScenarioStep | None) -> StepForm:
    data = None
    if step is not None and request.method == "GET":
        data = step_data(step, builder.variants_of(db, [step.id])[step.id])
    form = StepForm(data=data) if data else StepForm()
    templates = db.exec(
        select(MessageTemplate).where(MessageTemplate.archived.is_(False)).order_by(MessageTemplate.name)
    )
    choices = [SelectChoice("", "—")] + [SelectChoice(str(t.id), t.name) for t in templates]
    for slot in form.variants:
        slot.form.template_id.choices = choices
    dates = db.exec(
        select(FieldDefinition).where(FieldDefinition.field_type == FieldType.DATE).order_by(FieldDefinition.label)
    )
    form.field_id.choices = [SelectChoice("", "—")] + [SelectChoice(str(f.id), f.label) for f in dates]
    form.condition_segment.choices = segment_choices(db, step.condition_tree if step else None)
    return form


def _action_editor(db: Session, step: ScenarioStep | None):
    """The shared action-list editor, holding the step's actions (or what was just submitted)."""
    current = json.loads(step.actions or "[]") if step is not None else []
    if request.method == "POST":
        current = action_forms.parse_actions(request.form, "actions")
    return action_forms.editor(db, name="actions", actions=current)


def _save(db: Session, form: StepForm, scenario_id: int, step: ScenarioStep | None) -> bool:
    with unit_of_work(ScenarioError) as work:
        tree = resolve_segment(
            db, form.condition_segment.data, step.condition_tree if step else None, field="condition_segment"
        )
        values = form.step(tree)
        values["actions"] = action_forms.parse_actions(request.form, "actions")
        if step is None:
            builder.add_step(db, actor=current_actor(), scenario_id=scenario_id, step=values)
        else:
            builder.update_step(db, actor=current_actor(), step_id=step.id, step=values)
    if work.failed:
        field = FORM_FIELDS.get(work.error.field, work.error.field)
        if field == "day_offset" and form.timing_kind.data == "field_relative":
            field = "field_days"
        work.error.field = field
        form_error(form, work.error, "name")
    return not work.failed


def _step_page(scenario_id: int, step: ScenarioStep | None):
    db = get_session()
    scenario = load(db, scenario_id)
    form = _step_form(db, step)
    if request.method == "POST":
        if form.validate_on_submit() and _save(db, form, scenario_id, step):
            flash(_("Step saved."), "success")
            return redirect(url_for("scenarios.show", scenario_id=scenario_id))
        status = 400
    else:
        status = 200
    editor = _action_editor(db, step)
    return render_template("scenarios/step.html", form=form, scenario=scenario, step=step, editor=editor), status


@bp.route("/<int:scenario_id>/steps/new", methods=["GET", "POST"])
@requires("scenarios.manage")
def new_step(scenario_id: int):
    """Add a step at the end."""
    return _step_page(scenario_id, None)


def _load_step(db: Session, scenario_id: int, step_id: int) -> ScenarioStep:
    step = db.get(ScenarioStep, step_id)
    if step is None or step.scenario_id != scenario_id:
        abort(404)
    return step


@bp.route("/<int:scenario_id>/steps/<int:step_id>", methods=["GET", "POST"])
@requires("scenarios.manage")
def edit_step(scenario_id: int, step_id: int):
    """Change a step."""
    return _step_page(scenario_id, _load_step(get_session(), scenario_id, step_id))


@bp.post("/<int:scenario_id>/steps/<int:step_id>/<operation>")
@requires("scenarios.manage")
def change_step(scenario_id: int, step_id: int, operation: str):
    """Move a step up or down, or delete it."""
    db = get_session()
    _load_step(db, scenario_id, step_id)
    if not ActionForm().validate_on_submit():
        flash(_("The form expired. Try again."), "error")
    else:
        with unit_of_work(ScenarioError, flash_error=True):
            if operation == "delete":
                builder.delete_step(db, actor=current_actor(), step_id=step_id)
            else:
                builder.move_step(db, actor=current_actor(), step_id=step_id, direction=operation)
    return redirect(url_for("scenarios.show", scenario_id=scenario_id))


@bp.post("/<int:scenario_id>/test-run")
@requires("scenarios.manage")
def test_run(scenario_id: int):
    """Send every step at once to the test friends, marked as a test; show each friend's results."""
    db = get_session()
    scenario = load(db, scenario_id)
    if not ActionForm().validate_on_submit():
        flash(_("The form expired. Try again."), "error")
        return redirect(url_for("scenarios.show", scenario_id=scenario_id))
    ids = test_friends.ids(db)
    if not ids:
        flash(_("Add a test friend first."), "error")
        return redirect(url_for("broadcast_send.test_friends_page"))
    with unit_of_work():  # link tokens written for the test copies
        copies = testrun.prepare_test_run(
            db, scenario_id=scenario_id, friend_ids=ids, base_url=current_app.config["PUBLIC_BASE_URL"]
        )
    if not copies:
        flash(_("No step has a template to send yet."), "error")
        return redirect(url_for("scenarios.show", scenario_id=scenario_id))
    results = testrun.push_test_run(line_client(current_app), copies)
    names = {f.id: visible_name(f, current_user.role) for f in db.exec(select(Friend).where(Friend.id.in_(ids)))}
    return render_template("scenarios/test_run.html", scenario=scenario, results=results, names=names)
