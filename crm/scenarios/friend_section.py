"""The friend page's scenarios card: each scenario the friend is in with the next step and when (Tokyo), stop
and restart buttons; finished ones with their exit reason in words."""

from __future__ import annotations

import uuid

from flask import Blueprint, abort, flash, redirect, url_for
from flask_babel import gettext as _
from sqlalchemy import and_, select
from sqlmodel import Session

from crm.console.guard import current_actor, requires
from crm.db import get_session, unit_of_work
from crm.errors import N_
from crm.friends.models import Friend
from crm.scenarios import staff_enrolment, words
from crm.scenarios.checks import ScenarioError
from crm.scenarios.forms import ActionForm
from crm.scenarios.models import Enrolment, EnrolmentStatus, Scenario, ScenarioStep
from crm.timeutil import utcnow

bp = Blueprint("scenario_friends", __name__, url_prefix="/scenarios")
FINISHED_SHOWN = 20


def for_friend(session: Session, friend_id: int) -> dict:
    """{"active": [...], "finished": [...]}: enrolments with their scenario and next step, newest first."""
    query = (
        select(Enrolment, Scenario, ScenarioStep)
        .join(Scenario, Scenario.id == Enrolment.scenario_id)
        .outerjoin(
            ScenarioStep,
            and_(ScenarioStep.scenario_id == Enrolment.scenario_id, ScenarioStep.position == Enrolment.next_position),
        )
        .where(Enrolment.friend_id == friend_id)
        .order_by(Enrolment.enrolled_at.desc(), Enrolment.id.desc())
    )
    active, finished = [], []
    for enrolment, scenario, step in session.execute(query):
        row = {"enrolment": enrolment, "scenario": scenario, "next_step": step}
        if enrolment.status == EnrolmentStatus.ACTIVE:
            active.append(row)
        elif len(finished) < FINISHED_SHOWN:
            finished.append(row)
    return {"active": active, "finished": finished}


def page_helpers() -> dict:
    """Names the friend page's scenarios card uses."""
    return {
        "friend_scenarios": lambda friend_id: for_friend(get_session(), friend_id),
        "scenario_exit_labels": words.EXIT_LABELS,
        "scenario_status_labels": words.STATUS_LABELS,
        "scenario_action_form": ActionForm,
    }


def _back(friend_id: int):
    return redirect(url_for("friend.show", friend_id=friend_id, _anchor="scenarios"))


def _checked(scenario_id: int, friend_id: int) -> Session:
    db = get_session()
    if db.get(Scenario, scenario_id) is None or db.get(Friend, friend_id) is None:
        abort(404)
    return db


@bp.post("/<int:scenario_id>/friends/<int:friend_id>/stop")
@requires("scenarios.manage")
def stop(scenario_id: int, friend_id: int):
    """Stop the scenario for this friend (exit reason: staff)."""
    db = _checked(scenario_id, friend_id)
    if not ActionForm().validate_on_submit():
        flash(_("The form expired. Try again."), "error")
        return _back(friend_id)
    with unit_of_work(ScenarioError, flash_error=True) as work:  # the enrolment service audits with the actor
        staff_enrolment.stop_friend(
            db, scenario_id=scenario_id, friend_id=friend_id, actor=current_actor(), now=utcnow()
        )
    if not work.failed:
        flash(_("The scenario was stopped for this friend."), "success")
    return _back(friend_id)


@bp.post("/<int:scenario_id>/friends/<int:friend_id>/restart")
@requires("scenarios.manage")
def restart(scenario_id: int, friend_id: int):
    """Start the scenario over for this friend from the first step (the scenario's enrolment rule applies)."""
    db = _checked(scenario_id, friend_id)
    if not ActionForm().validate_on_submit():
        flash(_("The form expired. Try again."), "error")
        return _back(friend_id)
    now, actor = utcnow(), current_actor()
    with unit_of_work(ScenarioError, flash_error=True) as work:
        staff_enrolment.stop_friend(db, scenario_id=scenario_id, friend_id=friend_id, actor=actor, now=now)
        enrolment = staff_enrolment.enrol_friend(
            db,
            scenario_id=scenario_id,
            friend_id=friend_id,
            trigger_key=f"staff:{uuid.uuid4().hex}",
            now=now,
            actor=actor,
        )
        if enrolment is None:
            raise ScenarioError(N_("The scenario's enrolment rule does not let this friend start again."))
    if not work.failed:
        flash(_("The scenario starts over for this friend."), "success")
    return _back(friend_id)
