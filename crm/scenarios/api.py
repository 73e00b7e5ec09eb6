"""/api/v1/scenarios: scenarios listed with their enrolment counts, one read with its steps and statistics, a
friend enrolled (by id or LINE user id) or removed — through the runtime's enrolment service, which applies
the scenario's rules and audits each change with the token as the actor."""

from __future__ import annotations

import json
import uuid

from flask_smorest import Blueprint
from sqlmodel import select

from crm.api import auth, errors
from crm.api.pages import decode_id_cursor, page
from crm.api.schemas import ErrorSchema, PageArgs, page_of
from crm.api.statistics import comparison
from crm.db import get_session, unit_of_work
from crm.friends.models import Friend
from crm.scenarios import builder, staff_enrolment
from crm.scenarios import stats as scenario_stats
from crm.scenarios.api_schemas import EnrolBody, EnrolResultSchema, ScenarioSchema, ScenarioSummarySchema
from crm.scenarios.models import Enrolment, EnrolmentStatus, Scenario
from crm.timeutil import utcnow

blp = Blueprint("api_scenarios", __name__, url_prefix="/api/v1", description="Scenarios (シナリオ配信)")
errors.install(blp)
ID = "<int(max=2147483647):scenario_id>"
FRIEND = "<int(max=2147483647):friend_id>"
SUMMARY = tuple(ScenarioSummarySchema().fields)
FIGURES = ("reached", "queued", "sent", "failed", "held_out", "skipped", "clicks", "unique_clickers", "blocks_7d")
STEP_COLUMNS = ("id", "position", "name", "timing_kind", "elapsed_from", "delay_minutes", "day_offset", "at_minute")
STEP_COLUMNS += ("field_id", "condition_otherwise", "jump_to_position")


def summary(scenario: Scenario, counts: dict[str, int]) -> dict:
    found = {name: getattr(scenario, name) for name in SUMMARY if name != "counts"}
    return found | {"counts": {status: counts.get(status, 0) for status in EnrolmentStatus}}


def _scenario(scenario_id: int) -> Scenario:
    found = get_session().get(Scenario, scenario_id)
    if found is None:
        raise errors.not_found("scenario", scenario_id)
    return found


@blp.route("/scenarios")
@auth.guard(blp, "reports.view")
@blp.arguments(PageArgs, location="query", as_kwargs=True)
@blp.response(200, page_of(ScenarioSummarySchema))
def list_scenarios(limit: int, cursor: str | None = None):
    """Scenarios, newest first, with their active / completed / exited enrolment counts."""
    db = get_session()
    query = select(Scenario).order_by(Scenario.id.desc()).limit(limit + 1)
    before = decode_id_cursor(cursor)
    if before is not None:
        query = query.where(Scenario.id < before)
    rows, next_cursor = page(list(db.exec(query).all()), limit=limit)
    counts = scenario_stats.enrolment_counts(db, [row.id for row in rows])
    return {"data": [summary(row, counts[row.id]) for row in rows], "next_cursor": next_cursor}


def _step(step, figures, variants) -> dict:
    found = {name: getattr(step, name) for name in STEP_COLUMNS}
    found |= {name: getattr(figures, name) for name in FIGURES}
    found["condition_tree"] = json.loads(step.condition_tree) if step.condition_tree else None
    found["actions"] = json.loads(step.actions or "[]")
    found["variants"] = [
        {name: getattr(v, name) for name in FIGURES}
        | {"id": v.variant_id, "label": v.label, "weight": v.weight, "template_id": v.template_id}
        | {"goal": comparison(v.goal)}
        for v in variants
    ]
    return found


@blp.route(f"/scenarios/{ID}")
@auth.guard(blp, "reports.view")
@blp.response(200, ScenarioSchema)
@blp.alt_response(404, schema=ErrorSchema)
def get_one(scenario_id: int):
    """A scenario with its steps, each step's and variant's figures, exit reasons and the goal against the
    control group (with the interval (95%) and the number of friends it rests on)."""
    db = get_session()
    scenario = _scenario(scenario_id)
    figures = scenario_stats.statistics(db, scenario)
    by_step = {row.step_id: row for row in figures.steps}
    steps = [_step(step, by_step[step.id], by_step[step.id].variants) for step in builder.steps_of(db, scenario_id)]
    counts = {"active": figures.active, "completed": figures.completed, "exited": figures.exited}
    return summary(scenario, counts) | {
        "steps": steps,
        "exit_reasons": [{"reason": reason, "friends": n} for reason, n in figures.exit_reasons],
        "goal": comparison(figures.goal),
    }


def _friend(body: dict) -> Friend:
    db = get_session()
    if "friend_id" in body:
        found = db.get(Friend, body["friend_id"])
    else:
        found = db.exec(select(Friend).where(Friend.line_user_id == body["line_user_id"])).first()
    if found is None:
        raise errors.not_found("friend", body.get("friend_id", body.get("line_user_id")))
    return found


@blp.route(f"/scenarios/{ID}/enrolments", methods=["POST"])
@auth.guard(blp, "scenarios.manage")
@blp.arguments(EnrolBody)
@blp.response(200, EnrolResultSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No such scenario or friend")
@blp.alt_response(409, schema=ErrorSchema, description="Enrolment is not available")
def enrol(body: dict, scenario_id: int):
    """Enrol a friend (by id or LINE user id) under the scenario's rules: "enrolled", or "refused" with the
    reason (scenario_not_active, friend_not_following, already_enrolled, enrolment_rule, …)."""
    scenario, friend = _scenario(scenario_id), _friend(body)
    with unit_of_work() as work:
        enrolment = staff_enrolment.enrol_friend(
            work.session,
            scenario_id=scenario.id,
            friend_id=friend.id,
            trigger_key=f"api:{uuid.uuid4().hex}",
            now=utcnow(),
            actor=auth.actor(),
        )
        reason = None if enrolment else staff_enrolment.refusal_reason(work.session, scenario=scenario, friend=friend)
    return {
        "result": "enrolled" if enrolment else "refused",
        "enrolment_id": enrolment.id if enrolment else None,
        "friend_id": friend.id,
        "held_out": enrolment.held_out if enrolment else None,
        "reason": reason,
    }


@blp.route(f"/scenarios/{ID}/enrolments/{FRIEND}", methods=["DELETE"])
@auth.guard(blp, "scenarios.manage")
@blp.response(204)
@blp.alt_response(404, schema=ErrorSchema, description="No such scenario, or the friend is not in it")
@blp.alt_response(409, schema=ErrorSchema, description="Enrolment is not available")
def remove(scenario_id: int, friend_id: int):
    """Stop the scenario for a friend (exit reason "staff")."""
    _scenario(scenario_id)
    active = select(Enrolment.id).where(
        Enrolment.scenario_id == scenario_id,
        Enrolment.friend_id == friend_id,
        Enrolment.status == EnrolmentStatus.ACTIVE,
    )
    if get_session().exec(active).first() is None:
        raise errors.not_found("active enrolment of friend", friend_id)
    with unit_of_work() as work:
        staff_enrolment.stop_friend(
            work.session, scenario_id=scenario_id, friend_id=friend_id, actor=auth.actor(), now=utcnow()
        )
    return None
