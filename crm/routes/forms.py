"""The route editor's form (the actions come from the shared action editor)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField, StringField
from wtforms.fields import SelectChoice
from wtforms.validators import InputRequired, Length, Optional

from crm.routes.models import ActionTiming, InflowRoute
from crm.routes.service import FOLDER_MAX, NAME_MAX, RouteValues

TIMINGS = [
    SelectChoice(ActionTiming.FIRST_ADD, _l("Only when a friend is added for the first time")),
    SelectChoice(ActionTiming.EVERY_TIME, _l("Every time the route is used (also unblocks and existing friends)")),
]


class RouteForm(FlaskForm):
    """One route."""

    name = StringField(_l("Name"), validators=[InputRequired(), Length(max=NAME_MAX)])
    folder = StringField(_l("Folder (optional)"), validators=[Optional(), Length(max=FOLDER_MAX)])
    action_timing = RadioField(_l("When the actions run"), choices=TIMINGS, default=ActionTiming.FIRST_ADD)
    run_welcome_scenarios = BooleanField(_l("Also run the account's friend-added scenarios"), default=True)

    def values(self, *, actions: list[dict]) -> RouteValues:
        return RouteValues(
            name=self.name.data or "",
            folder=self.folder.data,
            actions=actions,
            action_timing=self.action_timing.data,
            run_welcome_scenarios=bool(self.run_welcome_scenarios.data),
        )


def route_data(route: InflowRoute) -> dict:
    """The form's initial values for a saved route."""
    return {
        "name": route.name,
        "folder": route.folder,
        "action_timing": route.action_timing,
        "run_welcome_scenarios": route.run_welcome_scenarios,
    }
