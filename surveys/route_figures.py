"""What friends who came through an inflow route did afterwards, as a figure of the routes' statistics: how many
of the friends added through a route have completed a survey since."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import Session, select

from crm.errors import N_
from crm.routes.models import ADDED_KINDS, RouteArrival
from crm.routes.stats import register_figure
from surveys.models import ResponseStatus, SurveyResponse

KEY = "survey_answers"


def answered_after_arrival(session: Session, route_ids: list[int]) -> dict[int, int]:
    """Per route: friends added through it who completed a survey after arriving (each friend once)."""
    query = (
        select(RouteArrival.route_id, func.count(func.distinct(SurveyResponse.friend_id)))
        .join(SurveyResponse, SurveyResponse.friend_id == RouteArrival.friend_id)
        .where(
            RouteArrival.route_id.in_(route_ids),
            RouteArrival.kind.in_(ADDED_KINDS),
            SurveyResponse.status == ResponseStatus.COMPLETED,
            SurveyResponse.finished_at >= RouteArrival.settled_at,
        )
        .group_by(RouteArrival.route_id)
    )
    return dict(session.exec(query).all())


def register() -> None:
    register_figure(KEY, N_("Answered a survey afterwards"), answered_after_arrival)
