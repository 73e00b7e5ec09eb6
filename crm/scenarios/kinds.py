"""The action kinds start_scenario and stop_scenario (registered with crm.actions at init)."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlmodel import Session, select

from crm.actions.forms import ParamInput, register_inputs
from crm.actions.history import register_source
from crm.actions.registry import ActionContext, ActionError, ActionKind, register_kind
from crm.errors import N_
from crm.i18n import translate
from crm.scenarios.enrolment import enrol, remove_friend
from crm.scenarios.models import ExitReason, Scenario, ScenarioStatus
from crm.timeutil import utcnow


def _validate(session: Session, params: dict) -> dict:
    try:
        scenario_id = int(params.get("scenario_id"))
    except (TypeError, ValueError):
        scenario_id = None
    if scenario_id is None or session.get(Scenario, scenario_id) is None:
        error = ActionError(N_("Choose a scenario that exists."))
        error.field = "scenario_id"
        raise error
    return {"scenario_id": scenario_id}


def _start(context: ActionContext) -> bool:
    enrolment = enrol(
        context.session,
        scenario_id=context.params["scenario_id"],
        friend_id=context.friend_id,
        trigger_key=f"action:{context.trigger_key}",
        now=utcnow(),
    )
    return enrolment is not None


def _stop(context: ActionContext) -> bool:
    """Removed by an action: recorded with the reason "staff" (removed by staff, the API or an action)."""
    return remove_friend(
        context.session,
        scenario_id=context.params["scenario_id"],
        friend_id=context.friend_id,
        reason=ExitReason.STAFF,
        actor=None,
        now=utcnow(),
    )


def _name(session: Session, params: dict) -> str:
    scenario = session.get(Scenario, params.get("scenario_id"))
    return scenario.name if scenario else _("(deleted scenario)")


def _describe_start(session: Session, params: dict) -> str:
    return _("Start the scenario “%(name)s”", name=_name(session, params))


def _describe_stop(session: Session, params: dict) -> str:
    return _("Stop the scenario “%(name)s”", name=_name(session, params))


START_SCENARIO = ActionKind(
    kind="start_scenario", label=N_("Start a scenario"), validate=_validate, run=_start, describe=_describe_start
)
STOP_SCENARIO = ActionKind(
    kind="stop_scenario", label=N_("Stop a scenario"), validate=_validate, run=_stop, describe=_describe_stop
)


def scenario_options(session: Session) -> list[tuple[str, str]]:
    """The scenarios an action can start or stop (not archived), for the action editor."""
    query = select(Scenario).where(Scenario.status != ScenarioStatus.ARCHIVED).order_by(Scenario.name)
    return [(str(scenario.id), scenario.name) for scenario in session.exec(query)]


def history_source(session: Session, scenario_id: int) -> str:
    """The friend's action history says 「シナリオ「…」」 for actions a scenario step ran."""
    scenario = session.get(Scenario, scenario_id)
    return translate(N_("Scenario “%(name)s”"), {"name": scenario.name if scenario else "—"})


def register() -> None:
    """Register both kinds, their input in the action editor and the history's words for "scenario:<id>"."""
    for kind in (START_SCENARIO, STOP_SCENARIO):
        register_kind(kind)
        register_inputs(kind.kind, ParamInput("scenario_id", N_("Scenario"), scenario_options))
    register_source("scenario", history_source)
