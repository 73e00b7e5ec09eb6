"""What surveys add to the action engine: the `start_survey` kind, the survey-answered trigger, and surveys named
in the friend's history of actions."""

from __future__ import annotations

from sqlmodel import Session, select

from crm.actions.registry import ActionContext, ActionError, ActionKind, register_kind
from crm.errors import N_
from crm.friends.models import Friend, FriendStatus
from crm.i18n import translate
from crm.timeutil import utcnow
from crm.triggers import Trigger, TriggerEvent, fire
from surveys.models import Survey, SurveyResponse, SurveyStatus
from surveys.turns import TurnStatus

STARTED = (TurnStatus.ASK, TurnStatus.WEB)


def survey_completed(session: Session, *, response_id: int) -> None:
    """Fire the survey-answered trigger for a completed response (scenarios and automations subscribe)."""
    response = session.get(SurveyResponse, response_id)
    trigger = Trigger(
        TriggerEvent.SURVEY_ANSWERED,
        response.friend_id,
        key=f"survey_response:{response_id}",
        occurred_at=response.finished_at or utcnow(),
        ref_id=response.survey_id,
    )
    fire(session, trigger)


def _validate(session: Session, params: dict) -> dict:
    try:
        survey_id = int(params.get("survey_id"))
    except (TypeError, ValueError):
        raise ActionError(N_("choose one.")) from None
    if session.get(Survey, survey_id) is None:
        raise ActionError(N_("that survey no longer exists."))
    return {"survey_id": survey_id}


def _start(context: ActionContext) -> bool:
    """Start the survey as a rich-menu tap does: its first question (or web-form link) queued for the friend."""
    from surveys import flow, responses  # here: flow imports answers, which imports this module

    session = context.session
    survey, friend = session.get(Survey, int(context.params["survey_id"])), session.get(Friend, context.friend_id)
    if survey is None or survey.status != SurveyStatus.PUBLISHED or friend is None:
        return False
    if friend.status != FriendStatus.FOLLOWING or responses.in_progress(session, friend.id) is not None:
        return False  # nobody to ask, or a survey under way that a start would abandon mid-answer
    now = utcnow()
    turn = responses.start(session, survey_id=survey.id, friend_id=friend.id, at=now)
    if turn.status not in STARTED:
        return False
    flow.respond(
        session,
        turn,
        friend_id=friend.id,
        line_user_id=friend.line_user_id,
        reply_token=context.reply_token,
        occurred_at=now,
        send_key=f"action:{context.trigger_key}:{context.run_id}",
    )
    return True


def survey_title(session: Session, survey_id: int) -> str:
    """A survey's title, or words for a deleted one."""
    survey = session.get(Survey, survey_id)
    return survey.title if survey else translate(N_("(deleted survey)"))


def survey_options(session: Session) -> list[tuple[str, str]]:
    """The surveys an action can start: published ones and drafts (which start once published)."""
    query = select(Survey).where(Survey.status != SurveyStatus.CLOSED).order_by(Survey.title)
    return [(str(survey.id), survey.title) for survey in session.exec(query)]


START_SURVEY = ActionKind(
    "start_survey",
    N_("Start a survey"),
    _validate,
    _start,
    lambda session, params: translate(
        N_("Start survey “%(title)s”"), {"title": survey_title(session, int(params.get("survey_id") or 0))}
    ),
)


def register() -> None:
    """Register the kind and the history's words for "survey:<id>" sources."""
    from crm.actions.forms import ParamInput, register_inputs
    from crm.actions.history import register_source

    register_kind(START_SURVEY)
    register_inputs(START_SURVEY.kind, ParamInput("survey_id", N_("Survey"), survey_options))
    register_source(
        "survey",
        lambda session, survey_id: translate(N_("Survey “%(title)s”"), {"title": survey_title(session, survey_id)}),
    )
