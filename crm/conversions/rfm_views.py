"""The RFM page: the R × F grid and the decile table, each cell a list of friends that can be saved as a segment
and sent to."""

from __future__ import annotations

import json

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from crm.console.forms import form_error
from crm.console.guard import current_actor, requires
from crm.conversions import rfm
from crm.conversions.forms import ButtonForm, CellSegmentForm
from crm.conversions.jobs import rfm_tick
from crm.conversions.models import RfmScore
from crm.db import get_engine, get_session, unit_of_work
from crm.friends.models import Friend
from crm.permissions import can, visible_name
from crm.segments import service as segments
from crm.segments.tree import SegmentError
from crm.timeutil import utcnow

bp = Blueprint("conversion_rfm", __name__, url_prefix="/conversions/rfm")
PERMISSION = "conversions.manage"
CELL_FRIENDS = 50
SCORES = range(5, 0, -1)


@bp.get("")
@requires(PERMISSION)
def index():
    """The R × F grid (friends and value per cell) and the deciles with their share of value."""
    db = get_session()
    return render_template(
        "conversions/rfm.html",
        grid=rfm.grid(db),
        empty=rfm.Cell(),
        scores=SCORES,
        deciles=rfm.deciles(db),
        computed_at=rfm.last_computed(db),
        button=ButtonForm(),
    )


@bp.post("/recompute")
@requires(PERMISSION)
def recompute():
    """Recompute the scores now (the worker does it every 15 minutes when purchases came in)."""
    if not ButtonForm().validate_on_submit():
        flash(_("The form expired. Try again."), "error")
        return redirect(url_for("conversion_rfm.index"))
    get_session().rollback()
    scored = rfm_tick(get_engine(current_app), force=True)
    flash(_("RFM scores were recomputed for %(count)s friends.", count=scored or 0), "success")
    return redirect(url_for("conversion_rfm.index"))


def _cell_tree() -> tuple[dict, str]:
    """The condition and its name for the cell asked for (?r=&f= or ?decile=)."""
    args = request.args
    if args.get("decile", "").isdigit() and 1 <= int(args["decile"]) <= 10:
        decile = int(args["decile"])
        return {"type": "decile", "value": decile}, _("Decile %(decile)s", decile=decile)
    r, f = args.get("r", ""), args.get("f", "")
    if r.isdigit() and f.isdigit() and 1 <= int(r) <= 5 and 1 <= int(f) <= 5:
        tree = {"type": "rfm", "r": [int(r), int(r)], "f": [int(f), int(f)]}
        return tree, _("RFM R%(r)s × F%(f)s", r=r, f=f)
    abort(404)


@bp.get("/cell")
@requires(PERMISSION)
def cell():
    """The friends of one cell or decile (the top spenders first), and the form that saves them as a segment."""
    db = get_session()
    tree, title = _cell_tree()
    ids = segments.friend_ids(db, tree, now=utcnow()).subquery()
    rows = db.execute(
        select(Friend, RfmScore)
        .join(RfmScore, RfmScore.friend_id == Friend.id)
        .where(Friend.id.in_(select(ids.c.id)))
        .order_by(RfmScore.monetary.desc(), Friend.id)
        .limit(CELL_FRIENDS)
    ).all()
    total = db.scalar(select(func.count()).select_from(ids))
    form = CellSegmentForm(formdata=None, name=title, tree=json.dumps(tree))
    return render_template(
        "conversions/rfm_cell.html",
        title=title,
        rows=rows,
        total=total,
        form=form,
        name_of=lambda friend: visible_name(friend, current_user.role),
        can_save=can(current_user.role, "segments.manage"),
    )


@bp.post("/segment")
@requires(PERMISSION)
def save_segment():
    """Save a cell's condition as a segment (needs the segments permission too), then open the segments."""
    if not can(current_user.role, "segments.manage"):
        abort(403)
    form = CellSegmentForm()
    if form.validate_on_submit():
        with unit_of_work(SegmentError) as work:
            segments.create_segment(get_session(), actor=current_actor(), name=form.name.data, tree=form.tree.data)
        if work.error is None:
            flash(_("Segment %(name)s was saved. Choose it when you send a broadcast.", name=form.name.data), "success")
            return redirect(url_for("segments.index"))
        form_error(form, work.error, "name")
    for errors in form.errors.values():
        for error in errors:
            flash(error, "error")
    return redirect(url_for("conversion_rfm.index"))
