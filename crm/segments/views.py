"""Segments (絞り込み): saved segments with their counts, a builder with a live count, save / edit / delete.

The builder (static/segment_builder.js) keeps the tree as JSON in the form's `tree` field, so the form also
works without JavaScript (the JSON can be edited by hand); the server validates either way and shows errors
with the path of the bad condition.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField
from wtforms.validators import Length, Optional

from crm.console.guard import current_actor, requires
from crm.db import get_session, unit_of_work
from crm.i18n import message_of
from crm.permissions import masks_personal_data
from crm.segments import service as segments
from crm.segments import tree as segment_tree
from crm.segments.options import options
from crm.segments.registry import builder_words
from crm.segments.tree import PersonalFieldError, SegmentError
from crm.timeutil import utcnow

bp = Blueprint("segments", __name__, url_prefix="/segments")
EMPTY_TREE = '{"type": "all", "conditions": []}'


class SegmentForm(FlaskForm):
    name = StringField(_l("Name"), validators=[Length(max=segments.MAX_NAME)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=segments.MAX_DESCRIPTION)])
    tree = TextAreaField(_l("Conditions (JSON)"), default=EMPTY_TREE)


class DeleteForm(FlaskForm):
    """The delete button (CSRF token only)."""


def error_text(error: SegmentError) -> str:
    """The translated message, prefixed by where in the tree the problem is."""
    message = message_of(error)
    return _("%(path)s: %(message)s", path=error.path, message=message) if error.path else message


@bp.get("")
@requires("reports.view")
def index():
    """Saved segments; each count is fetched by the page (segment_list.js), so many big segments do not
    hold up the list."""
    return render_template("segments/index.html", segments=segments.list_segments(get_session()))


@bp.get("/<int:segment_id>/count")
@requires("reports.view")
def saved_count(segment_id: int):
    """How many following friends a saved segment selects now: {"count": n}."""
    db = get_session()
    try:
        segment = segments.get_segment(db, segment_id)
    except SegmentError:
        abort(404)
    if _masked():
        try:
            segment_tree.refuse_personal_fields(db, segment.tree)
        except PersonalFieldError as error:
            return jsonify(error=error_text(error), path=error.path), 403
    return jsonify(count=segments.count(db, segment.tree, now=utcnow()))


def _masked() -> bool:
    """Whether the signed-in role sees personal data masked (and so may not count on personal fields)."""
    return masks_personal_data(current_user.role)


def _editor(form: SegmentForm, segment=None, error: str | None = None, status: int = 200):
    return render_template(
        "segments/edit.html",
        form=form,
        segment=segment,
        error=error,
        delete_form=DeleteForm(),
        condition_words={key: _(msgid) for key, msgid in builder_words().items()},
    ), status


def _save(form: SegmentForm, segment_id: int | None):
    """Validate and store; the edit page again (400) with the error when something is wrong."""
    db = get_session()
    segment = segments.get_segment(db, segment_id) if segment_id else None
    if not form.validate_on_submit():
        return _editor(form, segment, status=400)
    fields = dict(
        actor=current_actor(), name=form.name.data, description=form.description.data, tree=form.tree.data or ""
    )
    with unit_of_work(SegmentError) as work:
        if segment is None:
            saved = segments.create_segment(db, **fields)
        else:
            saved = segments.update_segment(db, segment_id=segment_id, **fields)
    if work.failed:
        return _editor(form, segment, error_text(work.error), 400)
    flash(_("Segment %(name)s was saved.", name=saved.name), "success")
    return redirect(url_for("segments.index"))


@bp.route("/new", methods=["GET", "POST"])
@requires("segments.manage")
def new():
    """The builder for a new segment."""
    form = SegmentForm()
    return _save(form, None) if request.method == "POST" else _editor(form)


@bp.route("/<int:segment_id>/edit", methods=["GET", "POST"])
@requires("segments.manage")
def edit(segment_id: int):
    """The builder for a saved segment."""
    try:
        segment = segments.get_segment(get_session(), segment_id)
    except SegmentError:
        abort(404)
    if request.method == "POST":
        return _save(SegmentForm(), segment_id)
    form = SegmentForm(formdata=None, name=segment.name, description=segment.description, tree=segment.tree)
    return _editor(form, segment)


@bp.post("/<int:segment_id>/delete")
@requires("segments.manage")
def delete(segment_id: int):
    """Delete a saved segment (broadcasts keep their own copy of its conditions)."""
    if not DeleteForm().validate_on_submit():
        abort(400)
    with unit_of_work(SegmentError) as work:
        segments.delete_segment(get_session(), actor=current_actor(), segment_id=segment_id)
    if work.failed:
        abort(404)
    flash(_("The segment was deleted."), "success")
    return redirect(url_for("segments.index"))


@bp.post("/count")
@requires("reports.view")
def count():
    """The live count for the builder: JSON tree in, {"count": n} out, or {"error", "path"} with 400."""
    # the raw text, decoded by the tree parser: it limits the size and refuses JSON nested too deeply
    data = request.get_data(as_text=True) if request.is_json else request.form.get("tree", "")
    db = get_session()
    try:
        tree = segment_tree.validate(db, data, personal_allowed=not _masked())
    except PersonalFieldError as error:
        return jsonify(error=error_text(error), path=error.path), 403
    except SegmentError as error:
        return jsonify(error=error_text(error), path=error.path), 400
    recipients, everyone = segments.counts(db, tree, now=utcnow())
    return jsonify(count=recipients, all=everyone, tree=tree)


@bp.get("/options")
@requires("reports.view")
def picker_options():
    """What the builder can pick (tags, fields, questions, links, broadcasts, registered conditions' inputs),
    for other builders too."""
    return jsonify(options(get_session(), personal_allowed=not _masked()))
