"""The routes console: the list by folder with each route's figures, the editor, a route's page (URL, QR code,
statistics and chart), the QR downloads and the CSV export."""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlmodel import Session

from crm.actions import forms as action_forms
from crm.actions.engine import describe_actions
from crm.actions.registry import ActionError
from crm.console.charts import Series, daily_bars
from crm.console.forms import form_error
from crm.console.guard import current_actor, requires
from crm.db import get_session, unit_of_work
from crm.routes import qr, service, stats
from crm.routes.csv_export import routes_csv
from crm.routes.forms import RouteForm, route_data
from crm.routes.line_login import LoginChannel
from crm.routes.models import InflowRoute
from crm.routes.service import RouteError
from crm.timeutil import to_tokyo, utcnow

bp = Blueprint("routes", __name__, url_prefix="/routes")
PERMISSION = "routes.manage"


def public_url(route: InflowRoute) -> str:
    """The URL printed in the QR code."""
    base = current_app.config.get("PUBLIC_BASE_URL") or request.host_url
    return f"{base.rstrip('/')}/i/{route.code}"


def _attributed() -> bool:
    return LoginChannel.from_config(current_app.config) is not None


@bp.get("")
@requires(PERMISSION)
def index():
    """Every route by folder (or one folder's), with its figures."""
    db = get_session()
    every = service.list_routes(db)
    folder = request.args.get("folder") or None
    routes = [route for route in every if folder is None or route.folder == folder]
    return render_template(
        "routes/index.html",
        routes=routes,
        folders=sorted({route.folder for route in every if route.folder}),
        folder=folder,
        figures=stats.figures(db, [route.id for route in routes]),
        extra_figures=stats.registered_figures(),
        attributed=_attributed(),
    )


def _load(db: Session, route_id: int) -> InflowRoute:
    route = db.get(InflowRoute, route_id)
    if route is None:
        abort(404)
    return route


def _editor(db: Session, route: InflowRoute | None):
    current = service.route_actions(route) if route is not None else []
    if request.method == "POST":
        current = action_forms.parse_actions(request.form, "actions")
    return action_forms.editor(db, name="actions", actions=current)


def _route_page(route: InflowRoute | None):
    db = get_session()
    form = RouteForm(data=route_data(route)) if route is not None and request.method == "GET" else RouteForm()
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            with unit_of_work(RouteError, ActionError) as work:
                values = form.values(actions=action_forms.parse_actions(request.form, "actions"))
                if route is None:
                    saved = service.create_route(db, actor=current_actor(), values=values)
                else:
                    saved = service.update_route(db, actor=current_actor(), route_id=route.id, values=values)
                saved_id = saved.id
            if not work.failed:
                flash(_("Route saved."), "success")
                return redirect(url_for("routes.show", route_id=saved_id))
            form_error(form, work.error, "name")
        status = 400
    return render_template("routes/edit.html", form=form, route=route, editor=_editor(db, route)), status


@bp.route("/new", methods=["GET", "POST"])
@requires(PERMISSION)
def new():
    return _route_page(None)


@bp.route("/<int:route_id>/edit", methods=["GET", "POST"])
@requires(PERMISSION)
def edit(route_id: int):
    return _route_page(_load(get_session(), route_id))


@bp.get("/<int:route_id>")
@requires(PERMISSION)
def show(route_id: int):
    """The route's URL and QR code, its figures and its last 30 days."""
    db = get_session()
    route = _load(db, route_id)
    now = utcnow()
    per_day = stats.daily(db, route.id, now=now)
    chart = daily_bars(
        _("The last %(days)d days", days=stats.DAYS),
        per_day["dates"],
        [Series(_("Visits"), per_day["visits"], "solid"), Series(_("Friends added"), per_day["added"], "striped")],
    )
    attributed = _attributed()
    return render_template(
        "routes/show.html",
        route=route,
        url=public_url(route),
        figures=stats.figures(db, [route.id])[route.id],
        extra_figures=stats.registered_figures(),
        chart=chart,
        actions=describe_actions(db, service.route_actions(route)),
        attributed=attributed,
        estimate=None if attributed else stats.unattributed_adds(db, since=route.created_at),
    )


@bp.get("/<int:route_id>/qr.<kind>")
@requires(PERMISSION)
def qr_code(route_id: int, kind: str):
    """The QR code as a PNG or SVG download."""
    route = _load(get_session(), route_id)
    if kind not in ("png", "svg"):
        abort(404)
    url = public_url(route)
    body = qr.qr_png(url) if kind == "png" else qr.qr_svg(url)
    mimetype = "image/png" if kind == "png" else "image/svg+xml"
    response = Response(body, mimetype=mimetype)
    if request.args.get("download") == "1":
        response.headers["Content-Disposition"] = f'attachment; filename="route-{route.code}.{kind}"'
    return response


@bp.get("/export.csv")
@requires(PERMISSION)
def export():
    """Every route with its figures as CSV (UTF-8 with BOM for Excel)."""
    db = get_session()
    routes = service.list_routes(db)
    body = routes_csv(routes, stats.figures(db, [route.id for route in routes]), url_of=public_url)
    name = f"routes-{to_tokyo(utcnow()):%Y%m%d-%H%M}.csv"
    return Response(body, mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="{name}"'})


def template_helpers() -> dict:
    """`describe_route_actions(route)` for the list."""
    return {"describe_route_actions": lambda route: describe_actions(get_session(), service.route_actions(route))}
