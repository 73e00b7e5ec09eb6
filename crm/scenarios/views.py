"""Scenarios (シナリオ配信): the list, the builder page (timeline, statistics, buttons), settings, status
changes and the bulk enrolment of a saved segment. Steps and the test run are in step_views.py."""

from __future__ import annotations

import json
import uuid

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import column, func, table
from sqlmodel import Session, select
from wtforms.fields import SelectChoice

from crm.console.forms import form_error
from crm.console.guard import current_actor, requires
from crm.db import get_session, unit_of_work
from crm.errors import N_
from crm.fields.models import FieldDefinition
from crm.message_templates.models import MessageTemplate
from crm.scenarios import builder, staff_enrolment, words
from crm.scenarios import stats as scenario_stats
from crm.scenarios.checks import ScenarioError
from crm.scenarios.forms import ActionForm, EnrolSegmentForm, SettingsForm, settings_data
from crm.scenarios.models import Scenario, ScenarioStatus
from crm.scenarios.stats_chart import steps_chart
from crm.segments import service as segments
from crm.segments.condition_select import chosen_tree, condition_choices
from crm.segments.models import Segment
from crm.staff.audit import record
from crm.statistics import MIN_GROUP
from crm.tags.models import Tag
from crm.timeutil import utcnow
from crm.tracking.models import TrackedLink

bp = Blueprint("scenarios", __name__, url_prefix="/scenarios")
LINK_CHOICES = 200
SETTINGS_FIELDS = {
    "goal_tree": "goal_segment",
    "trigger_ref_id": "trigger_kind",
    "window_start_minute": "window_start",
    "window_end_minute": "window_end",
}
SURVEYS = table("survey", column("id"), column("title"))  # the surveys package's table: crm never imports it


def load(db: Session, scenario_id: int) -> Scenario:
    """The scenario or 404."""
    scenario = db.get(Scenario, scenario_id)
    if scenario is None:
        abort(404)
    return scenario


def segment_choices(db: Session, current_tree: str | None) -> list[SelectChoice]:
    """None, the stored condition (kept as it is), then every saved segment."""
    return condition_choices(db, current_tree, none_label="—")


def resolve_segment(db: Session, choice: str | None, current_tree: str | None, *, field: str = "goal_segment"):
    """The tree a segment select stands for: none, the stored one, or a saved segment's (copied)."""
    return chosen_tree(
        db, choice, current_tree, gone=lambda: ScenarioError(N_("That segment no longer exists."), field=field)
    )


def _settings_form(db: Session, scenario: Scenario | None) -> SettingsForm:
    data = settings_data(scenario) if scenario is not None and request.method == "GET" else None
    form = SettingsForm(data=data) if data else SettingsForm()
    form.trigger_tag.choices = [SelectChoice(str(t.id), t.name) for t in db.exec(select(Tag).order_by(Tag.name))]
    surveys = db.execute(select(SURVEYS.c.id, SURVEYS.c.title).order_by(SURVEYS.c.id.desc())).all()
    form.trigger_survey.choices = [SelectChoice(str(sid), title) for sid, title in surveys]
    first = select(TrackedLink.destination, func.min(TrackedLink.id)).group_by(TrackedLink.destination)
    links = db.execute(first.order_by(TrackedLink.destination).limit(LINK_CHOICES)).all()
    form.trigger_link.choices = [SelectChoice("", _("Any tracked link"))] + [
        SelectChoice(str(link_id), destination) for destination, link_id in links
    ]
    form.goal_segment.choices = segment_choices(db, scenario.goal_tree if scenario else None)
    return form


@bp.get("")
@requires("reports.view")
def index():
    """Every scenario but archived ones (?archived=1 shows those): status and enrolment counts."""
    db = get_session()
    archived = request.args.get("archived") == "1"
    status_filter = (
        Scenario.status == ScenarioStatus.ARCHIVED if archived else Scenario.status != ScenarioStatus.ARCHIVED
    )
    rows = list(db.exec(select(Scenario).where(status_filter).order_by(Scenario.priority.desc(), Scenario.id)))
    counts = scenario_stats.enrolment_counts(db, [row.id for row in rows])
    return render_template(
        "scenarios/index.html", rows=rows, counts=counts, labels=words.STATUS_LABELS, archived=archived
    )


def _save_settings(db: Session, form: SettingsForm, scenario: Scenario | None):
    with unit_of_work(ScenarioError) as work:
        tree = resolve_segment(db, form.goal_segment.data, scenario.goal_tree if scenario else None)
        settings = form.settings(json.loads(tree) if tree else None)
        if scenario is None:
            saved = builder.create_scenario(db, actor=current_actor(), settings=settings)
        else:
            saved = builder.update_scenario(db, actor=current_actor(), scenario_id=scenario.id, settings=settings)
    if work.failed:
        work.error.field = SETTINGS_FIELDS.get(work.error.field, work.error.field)
        form_error(form, work.error, "name")
        return None
    return saved


def _settings_page(scenario: Scenario | None):
    db = get_session()
    form = _settings_form(db, scenario)
    if request.method == "POST":
        if form.validate_on_submit() and (saved := _save_settings(db, form, scenario)) is not None:
            flash(_("Scenario saved."), "success")
            return redirect(url_for("scenarios.show", scenario_id=saved.id))
        return render_template("scenarios/settings.html", form=form, scenario=scenario), 400
    return render_template("scenarios/settings.html", form=form, scenario=scenario)


@bp.route("/new", methods=["GET", "POST"])
@requires("scenarios.manage")
def new():
    """A new scenario (a draft until started)."""
    return _settings_page(None)


@bp.route("/<int:scenario_id>/settings", methods=["GET", "POST"])
@requires("scenarios.manage")
def settings(scenario_id: int):
    """Change a scenario's settings."""
    return _settings_page(load(get_session(), scenario_id))


def timeline(db: Session, scenario: Scenario) -> list[dict]:
    """Each step with its timing in words, variants (template name, excerpt, weight), condition and actions."""
    steps = builder.steps_of(db, scenario.id)
    variants = builder.variants_of(db, [step.id for step in steps])
    template_ids = {v.template_id for found in variants.values() for v in found if v.template_id}
    templates = {t.id: t for t in db.exec(select(MessageTemplate).where(MessageTemplate.id.in_(template_ids)))}
    field_ids = {step.field_id for step in steps if step.field_id}
    labels = {f.id: f.label for f in db.exec(select(FieldDefinition).where(FieldDefinition.id.in_(field_ids)))}
    return [
        {
            "step": step,
            "timing": words.timing(step, scenario.trigger_kind, labels.get(step.field_id)),
            "variants": [
                {
                    "variant": v,
                    "template": templates.get(v.template_id),
                    "excerpt": words.excerpt(templates.get(v.template_id)),
                }
                for v in variants[step.id]
            ],
            "actions": words.actions(db, step.actions),
        }
        for step in steps
    ]


@bp.get("/<int:scenario_id>")
@requires("reports.view")
def show(scenario_id: int):
    """The builder page: settings summary, the steps as a timeline, per-step statistics and the buttons."""
    db = get_session()
    scenario = load(db, scenario_id)
    figures = scenario_stats.statistics(db, scenario)
    return render_template(
        "scenarios/show.html",
        scenario=scenario,
        steps=timeline(db, scenario),
        figures=figures,
        steps_chart=steps_chart(figures),
        by_step={row.step_id: row for row in figures.steps},
        labels=words.STATUS_LABELS,
        exit_labels=words.EXIT_LABELS,
        action_form=ActionForm(),
        min_group=MIN_GROUP,
    )


@bp.post("/<int:scenario_id>/status/<move>")
@requires("scenarios.manage")
def change_status(scenario_id: int, move: str):
    """Start, pause, resume or archive."""
    db = get_session()
    load(db, scenario_id)
    if not ActionForm().validate_on_submit():
        flash(_("The form expired. Try again."), "error")
    else:
        with unit_of_work(ScenarioError, flash_error=True) as work:
            builder.change_status(db, actor=current_actor(), scenario_id=scenario_id, move=move)
        if not work.failed:
            flash(_("Done."), "success")
    return redirect(url_for("scenarios.show", scenario_id=scenario_id))


@bp.post("/<int:scenario_id>/delete")
@requires("scenarios.manage")
def delete(scenario_id: int):
    """Delete a draft; archive a scenario that ran."""
    db = get_session()
    load(db, scenario_id)
    if not ActionForm().validate_on_submit():
        flash(_("The form expired. Try again."), "error")
        return redirect(url_for("scenarios.show", scenario_id=scenario_id))
    with unit_of_work(ScenarioError, flash_error=True) as work:
        outcome = builder.delete_scenario(db, actor=current_actor(), scenario_id=scenario_id)
    if work.failed:
        return redirect(url_for("scenarios.show", scenario_id=scenario_id))
    flash(_("Scenario deleted.") if outcome == "deleted" else _("Scenario archived."), "success")
    return redirect(url_for("scenarios.index"))


@bp.route("/<int:scenario_id>/enrol", methods=["GET", "POST"])
@requires("scenarios.manage")
def enrol(scenario_id: int):
    """Enrol a saved segment: choose it, see how many friends it holds now, confirm that number."""
    db = get_session()
    scenario = load(db, scenario_id)
    form = EnrolSegmentForm()
    form.segment.choices = [SelectChoice(str(s.id), s.name) for s in db.exec(select(Segment).order_by(Segment.name))]
    count = None
    if request.method == "POST" and form.validate_on_submit():
        segment = db.get(Segment, int(form.segment.data)) if (form.segment.data or "").isdigit() else None
        if segment is None:
            form.segment.errors = [_("That segment no longer exists.")]
        else:
            count = segments.count(db, segment.tree, now=utcnow())
            if form.confirmed_count.data is not None and form.confirmed_count.data == count:
                return _enrol_segment(db, scenario, segment, count)
            if form.confirmed_count.data is not None:
                flash(_("The segment changed since you looked: check the new count."), "error")
    return render_template("scenarios/enrol.html", scenario=scenario, form=form, count=count)


def _enrol_segment(db: Session, scenario: Scenario, segment: Segment, count: int):
    if scenario.status not in (ScenarioStatus.ACTIVE, ScenarioStatus.PAUSED):
        flash(_("Start the scenario before enrolling friends."), "error")
        return redirect(url_for("scenarios.show", scenario_id=scenario.id))
    trigger_key = f"segment:{segment.id}:{uuid.uuid4().hex}"
    with unit_of_work(ScenarioError, flash_error=True) as work:
        enrolled = staff_enrolment.enrol_segment(
            db, scenario_id=scenario.id, tree=segment.tree, now=utcnow(), trigger_key=trigger_key
        )
        record(
            db,
            actor=current_actor(),
            action="scenario.segment_enrolled",
            target_type="scenario",
            target_id=scenario.id,
            after={"segment_id": segment.id, "counted": count, "enrolled": enrolled, "trigger_key": trigger_key},
        )
    if not work.failed:
        flash(_("%(count)s friends enrolled.", count=enrolled), "success")
    return redirect(url_for("scenarios.show", scenario_id=scenario.id))
