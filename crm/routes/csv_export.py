"""The routes' figures as CSV (UTF-8 with a BOM, spreadsheet-safe cells)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

from flask_babel import gettext as _

from crm.csv_cells import safe_cell
from crm.i18n import translate
from crm.routes.models import InflowRoute
from crm.routes.stats import RouteFigures, registered_figures


def routes_csv(routes: list[InflowRoute], figures: dict[int, RouteFigures], *, url_of: Callable) -> str:
    """One row per route."""
    extra = registered_figures()
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        [
            _("Route ID"),
            _("Name"),
            _("Folder"),
            _("URL"),
            _("Visits"),
            _("Logins"),
            _("New friends"),
            _("Returning friends"),
            _("Unblocked"),
            _("Already friends"),
            _("Blocked later"),
            *(translate(figure.label) for figure in extra),
        ]
    )
    for route in routes:
        counted = figures[route.id]
        writer.writerow(
            [
                route.id,
                safe_cell(route.name),
                safe_cell(route.folder),
                url_of(route),
                counted.visits,
                counted.logins,
                counted.new,
                counted.returning,
                counted.unblocked,
                counted.existing,
                counted.blocked_later,
                *(counted.extra.get(figure.key, 0) for figure in extra),
            ]
        )
    return "\ufeff" + buffer.getvalue()
