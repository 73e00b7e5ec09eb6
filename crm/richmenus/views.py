"""Rich menus (リッチメニュー): the list, the builder with its preview, the image upload, and deleting drafts."""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.exceptions import RequestEntityTooLarge

from crm.actions.registry import ActionError
from crm.console.guard import current_actor, requires
from crm.db import get_session, unit_of_work
from crm.i18n import message_of, messages_of, translate
from crm.richmenus import SURVEY_CHOICES_KEY, area_actions
from crm.richmenus import drafts as richmenus
from crm.richmenus import limits as richmenu_limits
from crm.richmenus import rules as richmenu_rules
from crm.richmenus.forms import ActionForm, ConfirmForm, ImageForm, MenuForm, NewMenuForm, PublishForm
from crm.richmenus.image_check import MAX_IMAGE_BYTES
from crm.richmenus.layouts import (
    ACTION_LABELS,
    CUSTOM,
    CUSTOM_LABEL,
    LAYOUTS,
    MAX_AREAS,
    SIZE_LABELS,
    SIZES,
    RichMenuError,
)
from crm.tracking import stats as click_stats

bp = Blueprint("richmenus", __name__, url_prefix="/richmenus")
UPLOAD_MAX_BYTES = MAX_IMAGE_BYTES + 64 * 1024  # the image plus the multipart envelope and the CSRF token
EMPTY_CUSTOM_ROWS = 3


def survey_choices(db) -> list[tuple[str, str]]:
    """(title, postback data) of the surveys a button can start, when the surveys package provides them."""
    provider = current_app.extensions.get(SURVEY_CHOICES_KEY)
    return list(provider(db)) if provider else []


def menu_or_404(db, menu_id: int):
    """The menu, or 404."""
    try:
        return richmenus.get_menu(db, menu_id)
    except richmenus.MenuNotFound:
        abort(404)


@bp.url_value_preprocessor
def _limit_upload_size(endpoint, _values):
    """Cap image uploads; this runs before CSRF protection reads the form, so a huge file is refused early."""
    if endpoint == "richmenus.upload":
        request.max_content_length = UPLOAD_MAX_BYTES


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(_error):
    flash(_("The file is larger than 1 MB, LINE's limit for rich menu images. Choose a smaller JPEG or PNG."), "error")
    menu_id = (request.view_args or {}).get("menu_id")
    return redirect(url_for("richmenus.edit", menu_id=menu_id) if menu_id else url_for("richmenus.index"), 303)


def _index(form: NewMenuForm, status: int = 200, errors: list[str] | None = None):
    db = get_session()
    return render_template(
        "richmenus/index.html",
        menus=richmenus.list_menus(db),
        form=form,
        errors=errors or [],
        calls=richmenu_limits.calls_in_window(db),
        limit=richmenu_limits.HOURLY_LIMIT,
        pending=richmenu_rules.pending_count(db),
        changed=richmenus.has_unpublished_changes,
        size_labels=SIZE_LABELS,
        layout_label=_layout_label,
    ), status


def _layout_label(layout: str) -> str:
    if layout == CUSTOM:
        return _(CUSTOM_LABEL)
    return _(LAYOUTS[layout][0]) if layout in LAYOUTS else layout


@bp.get("")
@requires("richmenus.edit")
def index():
    """Every rich menu, its state on LINE, and a form for a new one."""
    return _index(NewMenuForm(formdata=None))


@bp.post("/new")
@requires("richmenus.edit")
def create():
    """Create a draft menu from a size and a layout, then open the builder."""
    db = get_session()
    form = NewMenuForm()
    if not form.validate_on_submit():
        return _index(form, 400)
    with unit_of_work(RichMenuError) as work:
        menu = richmenus.create_menu(db, spec=form.spec(), actor=current_actor())
    if work.failed:
        return _index(form, 400, messages_of(work.error))
    flash(_("Menu “%(name)s” created. Give each area an action and upload the image.", name=menu.name), "success")
    return redirect(url_for("richmenus.edit", menu_id=menu.id))


def _form_for(menu) -> MenuForm:
    rows = [
        {
            "x": area.x,
            "y": area.y,
            "width": area.width,
            "height": area.height,
            "kind": area.action.kind if area.action else "",
            "value": area.action.value if area.action else "",
            "survey": area.action.value if area.action and area.action.kind == "postback" else "",
            "caption": area.action.label if area.action else "",
            "display_text": area.action.display_text if area.action else "",
        }
        for area in richmenus.areas_of(menu)
    ]
    if menu.layout == CUSTOM:
        rows += [{}] * min(EMPTY_CUSTOM_ROWS, MAX_AREAS - len(rows))
    return MenuForm(
        formdata=None,
        data={
            "name": menu.name,
            "chat_bar_text": menu.chat_bar_text,
            "size": menu.size,
            "layout": menu.layout,
            "alias_id": menu.alias_id or "",
            "selected": menu.selected,
            "areas": rows,
        },
    )


def preview_boxes(menu) -> list[dict]:
    """Each area as percentages of the image, with a short description of its action."""
    width, height = SIZES[menu.size]
    db = get_session()
    boxes = []
    for number, area in enumerate(richmenus.areas_of(menu), start=1):
        action = area.action
        boxes.append(
            {
                "number": number,
                "left": 100 * area.x / width,
                "top": 100 * area.y / height,
                "width": 100 * area.width / width,
                "height": 100 * area.height / height,
                "kind": _(ACTION_LABELS[action.kind]) if action else _("No action yet"),
                "value": (area_actions.described(db, area) if action.kind == "actions" else action.value)
                if action
                else "",
            }
        )
    return boxes


def render_edit(
    menu, *, form: MenuForm | None = None, errors=None, image_form=None, image_errors=None, status: int = 200
):
    """The builder page (a form given back after a failed save keeps the action lists as typed)."""
    db = get_session()
    choices = survey_choices(db)
    submitted = request.form if form is not None and request.method == "POST" else None
    if form is None:
        form = _form_for(menu)
        form.set_area_choices(choices)
    return render_template(
        "richmenus/edit.html",
        menu=menu,
        form=form,
        errors=errors or [],
        image=richmenus.image_of(db, menu.id),
        image_form=image_form or ImageForm(formdata=None),
        image_errors=image_errors or [],
        publish_form=PublishForm(formdata=None, make_default=menu.is_default),
        action_form=ActionForm(formdata=None),
        boxes=preview_boxes(menu),
        size=SIZES[menu.size],
        problems=[translate(*problem) for problem in richmenus.publish_problems(db, menu)],
        changed=richmenus.has_unpublished_changes(menu),
        has_surveys=bool(choices),
        url_taps=click_stats.source_stats(db, source=f"richmenu:{menu.id}"),
        action_taps=area_actions.area_taps(db, richmenus.areas_of(menu)),
        area_editors=area_actions.area_editors(db, form.areas, submitted),
        custom=form.layout.data == CUSTOM,
        layout_label=_layout_label(menu.layout),
    ), status


@bp.route("/<int:menu_id>", methods=["GET", "POST"])
@requires("richmenus.edit")
def edit(menu_id: int):
    """The builder: texts, size, layout, areas and actions, with the preview and publishing."""
    db = get_session()
    menu = menu_or_404(db, menu_id)
    if request.method == "GET":
        return render_edit(menu)
    form = MenuForm()
    form.set_area_choices(survey_choices(db))
    errors = []
    if form.validate_on_submit():
        typed = [entry.value.data for entry in form.areas]
        with unit_of_work(RichMenuError, ActionError) as work:
            actions_changed = area_actions.save_area_actions(
                db, menu_id=menu.id, entries=form.areas, formdata=request.form, actor=current_actor()
            )
            changed = richmenus.update_menu(db, menu_id=menu.id, spec=form.spec(), actor=current_actor())
            changed = changed or actions_changed
        if work.failed:
            for entry, value in zip(form.areas, typed, strict=True):
                entry.value.data = value  # the lists saved on the way were rolled back
            errors = messages_of(work.error)
        else:
            flash(_("Menu saved.") if changed else _("Nothing changed."), "success")
            return redirect(url_for("richmenus.edit", menu_id=menu.id))
    return render_edit(menu_or_404(db, menu_id), form=form, errors=errors, status=400)


@bp.get("/<int:menu_id>/image")
@requires("richmenus.edit")
def image(menu_id: int):
    """The stored image, for the preview."""
    stored = richmenus.image_of(get_session(), menu_id)
    if stored is None:
        abort(404)
    response = Response(stored.data, mimetype=stored.content_type)
    response.headers["Cache-Control"] = "private, no-cache"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.post("/<int:menu_id>/image")
@requires("richmenus.edit")
def upload(menu_id: int):
    """Check and store the menu's image; nothing goes to LINE until the menu is published."""
    db = get_session()
    menu = menu_or_404(db, menu_id)
    form = ImageForm()
    if not form.validate_on_submit():
        return render_edit(menu, image_form=form, status=400)
    with unit_of_work(RichMenuError) as work:
        richmenus.set_image(db, menu_id=menu.id, data=form.image.data.read(), actor=current_actor())
    if work.failed:
        return render_edit(menu_or_404(db, menu_id), image_form=form, image_errors=messages_of(work.error), status=400)
    flash(_("Image uploaded."), "success")
    return redirect(url_for("richmenus.edit", menu_id=menu.id))


@bp.route("/<int:menu_id>/delete", methods=["GET", "POST"])
@requires("richmenus.edit")
def delete(menu_id: int):
    """Delete a draft menu once confirmed."""
    db = get_session()
    menu = menu_or_404(db, menu_id)
    form = ConfirmForm()
    error = None
    if form.validate_on_submit():
        with unit_of_work(RichMenuError) as work:
            richmenus.delete_menu(db, menu_id=menu.id, actor=current_actor())
        if work.failed:
            error = message_of(work.error)
        else:
            flash(_("Menu “%(name)s” deleted.", name=menu.name), "success")
            return redirect(url_for("richmenus.index"))
    status = 400 if request.method == "POST" else 200
    return render_template("richmenus/delete.html", menu=menu, form=form, error=error), status
