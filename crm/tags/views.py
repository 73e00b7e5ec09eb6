"""Tags (タグ) and tag folders: list by folder with counts, create, edit, and delete after confirmation."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, ColorField, SelectField, StringField, TextAreaField
from wtforms.fields import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, Regexp

from crm.console.forms import form_error
from crm.console.guard import current_actor, requires
from crm.db import get_session, unit_of_work
from crm.tags import admin as tag_admin
from crm.tags.admin import DEFAULT_COLOR, TagAdminError

bp = Blueprint("tags", __name__, url_prefix="/tags")


class TagForm(FlaskForm):
    name = StringField(_l("Tag name"), validators=[DataRequired(), Length(max=100)])
    folder = SelectField(_l("Folder"), choices=[])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=500)])
    color = ColorField(
        _l("Colour"),
        default=DEFAULT_COLOR,
        validators=[DataRequired(), Regexp(r"^#[0-9a-fA-F]{6}$", message=_l("Choose a colour written as #rrggbb."))],
    )


class FolderForm(FlaskForm):
    folder_name = StringField(_l("Folder name"), validators=[DataRequired(), Length(max=100)])


class ConfirmForm(FlaskForm):
    confirm = BooleanField(_l("Yes, I understand"), validators=[DataRequired()])


def _tag_form(db, **kwargs) -> TagForm:
    form = TagForm(**kwargs)
    form.folder.choices = [SelectChoice("", _("No folder"))] + [
        SelectChoice(str(folder.id), folder.name) for folder in tag_admin.folders(db)
    ]
    return form


def _folder_id(form: TagForm) -> int | None:
    return int(form.folder.data) if form.folder.data else None


def _show_error(form: FlaskForm, error: TagAdminError, default_field: str = "name") -> None:
    """Put a service error on the form field it concerns (404 when the object is gone)."""
    if error.code == "not_found":
        abort(404)
    form_error(form, error, default_field)


def _load(loader, object_id: int):
    try:
        return loader(get_session(), object_id)
    except TagAdminError:
        abort(404)


def _render_index(tag_form: TagForm | None = None, folder_form: FolderForm | None = None, status: int = 200):
    db = get_session()
    return render_template(
        "tags/index.html",
        groups=tag_admin.tags_by_folder(db),
        tag_form=tag_form or _tag_form(db),
        folder_form=folder_form or FolderForm(),
    ), status


@bp.get("")
@requires("tags.view")
def index():
    """Tags grouped by folder, with how many friends have each."""
    return _render_index()


@bp.post("/new")
@requires("tags.manage")
def create():
    """Create a tag."""
    db = get_session()
    form = _tag_form(db)
    if form.validate_on_submit():
        with unit_of_work(TagAdminError) as work:
            tag = tag_admin.create_tag(
                db,
                name=form.name.data,
                folder_id=_folder_id(form),
                description=form.description.data,
                color=form.color.data,
                actor=current_actor(),
            )
        if work.failed:
            _show_error(form, work.error)
        else:
            flash(_("Tag “%(name)s” created.", name=tag.name), "success")
            return redirect(url_for("tags.index"))
    return _render_index(tag_form=form, status=400)


@bp.route("/<int:tag_id>/edit", methods=["GET", "POST"])
@requires("tags.manage")
def edit(tag_id: int):
    """Rename a tag or change its folder, description or colour."""
    db = get_session()
    tag = _load(tag_admin.get_tag, tag_id)
    form = _tag_form(db, obj=tag, data={"folder": str(tag.folder_id or "")})
    if form.validate_on_submit():
        with unit_of_work(TagAdminError) as work:
            tag_admin.update_tag(
                db,
                tag_id=tag.id,
                name=form.name.data,
                folder_id=_folder_id(form),
                description=form.description.data,
                color=form.color.data,
                actor=current_actor(),
            )
        if work.failed:
            _show_error(form, work.error)
        else:
            flash(_("Tag saved."), "success")
            return redirect(url_for("tags.index"))
    return render_template("tags/edit.html", form=form, tag=tag), 400 if form.errors else 200


@bp.route("/<int:tag_id>/delete", methods=["GET", "POST"])
@requires("tags.manage")
def delete(tag_id: int):
    """Show how many friends would lose a tag, and delete it once confirmed."""
    db = get_session()
    tag = _load(tag_admin.get_tag, tag_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        name = tag.name
        with unit_of_work():
            removed = tag_admin.delete_tag(db, tag_id=tag.id, actor=current_actor())
        flash(_("Tag “%(name)s” deleted; %(count)d friends lost it.", name=name, count=removed), "success")
        return redirect(url_for("tags.index"))
    return render_template(
        "tags/delete.html", form=form, tag=tag, affected=tag_admin.linked_friend_count(db, tag.id)
    ), 400 if form.errors else 200


@bp.post("/folders/new")
@requires("tags.manage")
def create_folder():
    """Create a tag folder."""
    db = get_session()
    form = FolderForm()
    if form.validate_on_submit():
        with unit_of_work(TagAdminError) as work:
            folder = tag_admin.create_folder(db, name=form.folder_name.data, actor=current_actor())
        if work.failed:
            _show_error(form, work.error, "folder_name")
        else:
            flash(_("Folder “%(name)s” created.", name=folder.name), "success")
            return redirect(url_for("tags.index"))
    return _render_index(folder_form=form, status=400)


@bp.route("/folders/<int:folder_id>/edit", methods=["GET", "POST"])
@requires("tags.manage")
def edit_folder(folder_id: int):
    """Rename a tag folder."""
    db = get_session()
    folder = _load(tag_admin.get_folder, folder_id)
    form = FolderForm(data={"folder_name": folder.name})
    if form.validate_on_submit():
        with unit_of_work(TagAdminError) as work:
            tag_admin.rename_folder(db, folder_id=folder.id, name=form.folder_name.data, actor=current_actor())
        if work.failed:
            _show_error(form, work.error, "folder_name")
        else:
            flash(_("Folder saved."), "success")
            return redirect(url_for("tags.index"))
    return render_template("tags/folder_edit.html", form=form, folder=folder), 400 if form.errors else 200


@bp.route("/folders/<int:folder_id>/delete", methods=["GET", "POST"])
@requires("tags.manage")
def delete_folder(folder_id: int):
    """Delete a tag folder once confirmed; its tags move to no folder."""
    db = get_session()
    folder = _load(tag_admin.get_folder, folder_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        name = folder.name
        with unit_of_work():
            moved = tag_admin.delete_folder(db, folder_id=folder.id, actor=current_actor())
        flash(_("Folder “%(name)s” deleted; %(count)d tags moved to no folder.", name=name, count=moved), "success")
        return redirect(url_for("tags.index"))
    return render_template(
        "tags/folder_delete.html", form=form, folder=folder, tag_count=tag_admin.folder_tag_count(db, folder.id)
    ), 400 if form.errors else 200
