"""The conversions console: points with their totals, a point's settings and actions, the purchases import."""

from __future__ import annotations

import json

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlmodel import Session

from crm.actions import forms as action_forms
from crm.actions.registry import ActionError
from crm.console.forms import form_error
from crm.console.guard import current_actor, requires
from crm.conversions import figures, points, purchases
from crm.conversions.errors import ConversionError
from crm.conversions.forms import PointForm, PurchasesForm
from crm.conversions.models import ConversionPoint
from crm.db import get_session, unit_of_work
from crm.i18n import message_of
from crm.imports.csv_reader import CsvImportError

bp = Blueprint("conversions", __name__, url_prefix="/conversions")
PERMISSION = "conversions.manage"


@bp.get("")
@requires(PERMISSION)
def index():
    """The points with their conversions, converted friends and value."""
    db = get_session()
    return render_template(
        "conversions/index.html",
        points=points.list_points(db),
        totals=figures.point_totals(db),
        empty=figures.Totals(),
        script_url=url_for("conversion_collect.script", _external=True),
    )


def _load(db: Session, point_id: int) -> ConversionPoint:
    point = db.get(ConversionPoint, point_id)
    if point is None:
        abort(404)
    return point


def _point_page(point: ConversionPoint | None):
    db = get_session()
    form = PointForm()
    if point is not None and request.method == "GET":
        form = PointForm(
            formdata=None,
            name=point.name,
            value_type=point.value_type,
            counting=point.counting,
            origins="\n".join(points.origins_of(point)),
        )
    actions = json.loads(point.actions) if point is not None else []
    if request.method == "POST":
        actions = action_forms.parse_actions(request.form, "actions")
        if form.validate_on_submit():
            with unit_of_work(ConversionError, ActionError) as work:
                saved = points.save_point(
                    db,
                    actor=current_actor(),
                    point_id=point.id if point else None,
                    name=form.name.data,
                    value_type=form.value_type.data,
                    counting=form.counting.data,
                    origins=form.origins.data or "",
                    actions=actions,
                )
            if work.error is None:
                flash(_("Conversion point %(name)s was saved.", name=saved.name), "success")
                return redirect(url_for("conversions.index"))
            form_error(form, work.error, "name")
    editor = action_forms.editor(db, name="actions", actions=actions)
    status = 400 if request.method == "POST" else 200
    return render_template("conversions/edit.html", form=form, point=point, editor=editor), status


@bp.route("/new", methods=["GET", "POST"])
@requires(PERMISSION)
def new():
    """A new conversion point."""
    return _point_page(None)


@bp.route("/<int:point_id>", methods=["GET", "POST"])
@requires(PERMISSION)
def edit(point_id: int):
    """A point's settings and actions."""
    return _point_page(_load(get_session(), point_id))


def _purchases_form(db: Session) -> PurchasesForm:
    form = PurchasesForm()
    form.point_id.choices = [(str(point.id), point.name) for point in points.list_points(db)]
    return form


@bp.route("/import", methods=["GET", "POST"])
@requires(PERMISSION)
def purchases_import():
    """Upload a purchases CSV: 「確認する」 checks it (a dry run), 「取り込む」 records its good rows."""
    db = get_session()
    form, result, applied = _purchases_form(db), None, False
    if request.method == "POST" and form.validate_on_submit():
        data = form.file.data.read(int(current_app.config["IMPORT_MAX_BYTES"]) + 1)
        applied = request.form.get("apply") == "1"
        with unit_of_work(CsvImportError, ConversionError) as work:
            if applied:
                result = purchases.import_purchases(
                    db, point_id=int(form.point_id.data), data=data, actor=current_actor()
                )
            else:
                result, _valid = purchases.check_rows(db, point_id=int(form.point_id.data), data=data)
                db.rollback()
        if work.error is not None:
            form_error(form, work.error, "file")
            result = None
    errors = [(row.row, message_of(row.error)) for row in result.errors] if result else []
    status = 400 if request.method == "POST" and result is None else 200
    page = render_template("conversions/import.html", form=form, result=result, applied=applied, errors=errors)
    return page, status
