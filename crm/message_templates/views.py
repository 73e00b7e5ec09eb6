"""Templates (テンプレート) in the console: the list by folder with search, the editor with its preview, copy,
archive and restore."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from crm.actions.registry import ActionError
from crm.console.forms import form_error
from crm.console.guard import current_actor, requires
from crm.db import get_session, unit_of_work
from crm.fields.models import FieldDefinition
from crm.i18n import message_of
from crm.message_templates import button_actions, content, editor, images, media, preview, service
from crm.message_templates.errors import ContentError
from crm.message_templates.forms import MESSAGE_KINDS, ActionButtonForm, TemplateForm
from crm.message_templates.service import TemplateError
from crm.message_templates.uploads import store_uploads

bp = Blueprint("message_templates", __name__, url_prefix="/templates")


@bp.get("")
@requires("templates.view")
def index():
    """Templates by folder, with search; archived ones on request."""
    folder = request.args.get("folder")
    search = request.args.get("q", "").strip()
    archived = request.args.get("archived") == "1"
    db = get_session()
    templates = service.list_templates(db, folder=folder, search=search, archived=archived)
    return render_template(
        "message_templates/index.html",
        templates=templates,
        folders=service.folders(db),
        folder=folder,
        search=search,
        archived=archived,
        summary=preview.summary,
        messages_of=service.messages_of,
        button_form=ActionButtonForm(),
    )


@bp.get("/<int:template_id>/preview")
@requires("templates.view")
def show(template_id: int):
    """A template as the friend will see it (read-only: for those who send broadcasts)."""
    db = get_session()
    template = _template_or_404(template_id)
    return render_template(
        "message_templates/show.html",
        template=template,
        bubbles=preview.bubbles(db, service.messages_of(template), neutral=_neutral()),
    )


@bp.route("/new", methods=["GET", "POST"])
@requires("templates.edit")
def new():
    """Create a template."""
    form = TemplateForm() if request.method == "POST" else TemplateForm(data={"folder": request.args.get("folder")})
    return _edit(form, None)


@bp.route("/<int:template_id>", methods=["GET", "POST"])
@requires("templates.edit")
def edit(template_id: int):
    """Edit a template."""
    template = _template_or_404(template_id)
    if request.method == "POST":
        form = TemplateForm()
    else:
        data = editor.form_data(template.name, template.folder, service.messages_of(template))
        form = TemplateForm(data=data)
    return _edit(form, template)


def _edit(form: TemplateForm, template):
    """Handle the editor's post: uploads first (kept whatever happens next), then a command or the save."""
    upload_errors, messages, error = {}, None, None
    if request.method == "POST":
        if not form.validate():
            return _editor(form, template, None, upload_errors, status=400)
        upload_errors = store_uploads(_image_fields(form), uploaded_by=current_user.id)
        button_actions.keep_submitted(form, request.form)
        command = request.form.get("command", "save")
        if command != "save":
            editor.apply_command(form, command)
            return _editor(form, template, None, upload_errors)
        list_ids, error = _save_button_actions(form, template)
        try:
            messages = content.validate_messages(editor.messages_from(form), allow_uploaded=True) if not error else None
        except ContentError as caught:
            error = message_of(caught)
        if messages is not None and not upload_errors:
            with unit_of_work(TemplateError, ContentError) as work:
                saved = service.save_template(
                    get_session(),
                    actor=current_actor(),
                    name=form.name.data,
                    folder=form.folder.data,
                    messages=messages,
                    template_id=template.id if template else None,
                )
                button_actions.claim(get_session(), list_ids, saved.id)
            if not work.failed:
                flash(_("The template was saved."), "success")
                return redirect(url_for("message_templates.edit", template_id=saved.id))
            error = form_error(form, work.error)
    elif template is not None:
        messages = service.messages_of(template)
    return _editor(form, template, messages, upload_errors, error=error, status=422 if error else 200)


def _save_button_actions(form: TemplateForm, template) -> tuple[list[int], str | None]:
    """Store the actions of the buttons that run them (their own transaction, like uploads: a button keeps its
    list when the template is not saved); return the lists' ids and the error, if any."""
    with unit_of_work(ActionError) as work:
        list_ids = button_actions.save_buttons(
            get_session(), form, template_id=template.id if template else None, actor=current_actor()
        )
    return ([], message_of(work.error)) if work.failed else (list_ids, None)


def _image_fields(form: TemplateForm):
    for entry in form.messages:
        yield entry.form
        yield from (card.form for card in entry.form.cards)


def _editor(form, template, messages, upload_errors, *, error=None, status=200):
    db = get_session()
    bubbles = preview.bubbles(db, messages, neutral=_neutral()) if messages else None
    fields = db.execute(
        select(FieldDefinition.key, FieldDefinition.label).order_by(FieldDefinition.position, FieldDefinition.id)
    ).all()
    page = render_template(
        "message_templates/edit.html",
        form=form,
        template=template,
        bubbles=bubbles,
        error=error,
        upload_errors=upload_errors,
        kinds=MESSAGE_KINDS,
        is_template_kind=editor.is_template_kind,
        field_keys=fields,
        max_upload=images.MAX_UPLOAD_BYTES,
        preview_of=media.preview_of,
        button_form=ActionButtonForm(),
        action_editors=button_actions.button_editors(db, form),
        button_taps=button_actions.button_taps(db, form),
    )
    return page, status


@bp.post("/<int:template_id>/copy")
@requires("templates.edit")
def copy(template_id: int):
    """Copy a template as 「… のコピー」 and open the copy."""
    if not ActionButtonForm().validate_on_submit():
        abort(400)
    with unit_of_work(TemplateError, flash_error=True) as work:
        copied = service.copy_template(get_session(), actor=current_actor(), template_id=template_id)
    if work.failed:
        return redirect(url_for("message_templates.index"))
    flash(_("A copy was made: %(name)s", name=copied.name), "success")
    return redirect(url_for("message_templates.edit", template_id=copied.id))


@bp.post("/<int:template_id>/archive")
@requires("templates.edit")
def archive(template_id: int):
    """Archive a template, or restore it (archived=0)."""
    if not ActionButtonForm().validate_on_submit():
        abort(400)
    archived = request.form.get("archived", "1") == "1"
    with unit_of_work(TemplateError, flash_error=True) as work:
        service.set_archived(get_session(), actor=current_actor(), template_id=template_id, archived=archived)
    if not work.failed:
        flash(_("The template was archived.") if archived else _("The template was restored."), "success")
    return redirect(url_for("message_templates.index", archived="0" if archived else "1"))


def _template_or_404(template_id: int):
    try:
        return service.get_template(get_session(), template_id)
    except TemplateError:
        abort(404)


def _neutral() -> str:
    return current_app.config.get("NEUTRAL_ADDRESS", "お客様")
