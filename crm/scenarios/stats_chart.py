"""A scenario's figures per step on the console's bar chart: sent, clicks and exits after each step."""

from __future__ import annotations

from flask_babel import gettext as _

from crm.console.charts import BarChart, Series, slot_bars
from crm.scenarios.stats import ScenarioFigures


def steps_chart(figures: ScenarioFigures) -> BarChart | None:
    """Grouped bars, one group per step (None without steps)."""
    if not figures.steps:
        return None
    steps = figures.steps
    return slot_bars(
        _("Sent, clicks and exits per step"),
        [_("Step %(number)s", number=step.position) for step in steps],
        [str(step.position) for step in steps],
        [
            Series(_("Sent"), [step.sent for step in steps], "solid"),
            Series(_("Clicks"), [step.clicks for step in steps], "outline"),
            Series(_("Exited after this step"), [step.exits_after for step in steps], "striped"),
        ],
        row_heading=_("Step"),
        label_every=1,
    )
