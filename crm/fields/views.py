"""Custom field definitions (友だち情報): admins create, change and delete them."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from crm.console.guard import current_actor, requires
from crm.db import get_session, unit_of_work
from crm.fields import service as fields
from crm.fields.models import FieldDefinition, FieldType
from crm.i18n import message_of

bp = Blueprint("fields", __name__)

TYPE_LABELS = {
    FieldType.TEXT: _l("Text"),
    FieldType.NUMBER: _l("Number"),
    FieldType.DATE: _l("Date"),
    FieldType.CHOICE: _l("Single choice"),
}


class FieldForm(FlaskForm):
    key = StringField(_l("Key (letters a–z, digits, _)"), validators=[DataRequired(), Length(max=50)])
    label = StringField(_l("Label"), validators=[DataRequired(), Length(max=100)])
    field_type = SelectField(_l("Type"), choices=[SelectChoice(kind, TYPE_LABELS[kind]) for kind in FieldType])
    choices = TextAreaField(_l("Choices, one per line (single choice only)"))
    required = BooleanField(_l("Required"))
    personal = BooleanField(
        _l("Personal data"),
        description=_l(
            "Tick for values that identify a person, such as an address or a phone number. Analysts then see "
            "them masked and cannot use the field in segment conditions. Text fields a survey question saves "
            "answers into are ticked automatically."
        ),
    )
    position = IntegerField(_l("Order"), default=0, validators=[Optional(), NumberRange(min=-9999, max=9999)])

    def spec(self) -> fields.FieldSpec:
        """The definition the admin entered."""
        lines = (self.choices.data or "").replace("\r\n", "\n").split("\n")
        return fields.FieldSpec(
            key=self.key.data.strip(),
            label=self.label.data,
            field_type=self.field_type.data,
            choices=tuple(line.strip() for line in lines if line.strip()),
            required=bool(self.required.data),
            position=self.position.data or 0,
            personal=bool(self.personal.data),
        )


class DeleteForm(FlaskForm):
    """The delete button (CSRF token only)."""


def _form_for(definition) -> FieldForm:
    return FieldForm(
        formdata=None,
        key=definition.key,
        label=definition.label,
        field_type=definition.field_type,
        choices="\n".join(fields.choices_of(definition)),
        required=definition.required,
        position=definition.position,
        personal=definition.personal,
    )


def _index(form: FieldForm, status: int = 200, error: str | None = None):
    db = get_session()
    return render_template(
        "fields/index.html",
        definitions=fields.list_definitions(db),
        form=form,
        counts=fields.value_counts(db),
        type_labels=TYPE_LABELS,
        error=error,
    ), status


@bp.get("/fields")
@requires("fields.define")
def index():
    """The field definitions and a form for a new one."""
    return _index(FieldForm(formdata=None))


@bp.post("/fields")
@requires("fields.define")
def create():
    """Define a new field."""
    form = FieldForm()
    if not form.validate_on_submit():
        return _index(form, 400)
    with unit_of_work(fields.FieldValidationError) as work:
        definition = fields.create_definition(get_session(), spec=form.spec(), actor=current_actor())
    if work.failed:
        return _index(form, 400, message_of(work.error))
    flash(_("Field %(label)s was created.", label=definition.label), "success")
    return redirect(url_for("fields.index"))


@bp.route("/fields/<int:field_id>/edit", methods=["GET", "POST"])
@requires("fields.define")
def edit(field_id: int):
    """Change a field definition."""
    db = get_session()
    definition = db.get(FieldDefinition, field_id)
    if definition is None:
        abort(404)
    form = FieldForm() if request.method == "POST" else _form_for(definition)
    error = None
    if form.validate_on_submit():
        with unit_of_work(fields.FieldValidationError) as work:
            fields.update_definition(db, field_id=field_id, spec=form.spec(), actor=current_actor())
        if not work.failed:
            flash(_("Field %(label)s was saved.", label=definition.label), "success")
            return redirect(url_for("fields.index"))
        error = message_of(work.error)
    status = 400 if request.method == "POST" else 200
    return render_template(
        "fields/edit.html",
        definition=definition,
        form=form,
        error=error,
        delete_form=DeleteForm(formdata=None),
        value_count=fields.value_counts(db).get(field_id, 0),
    ), status


@bp.post("/fields/<int:field_id>/delete")
@requires("fields.define")
def delete(field_id: int):
    """Delete a field and every friend's value for it."""
    if not DeleteForm().validate_on_submit():
        abort(400)
    with unit_of_work(fields.FieldValidationError) as work:
        removed = fields.delete_definition(get_session(), field_id=field_id, actor=current_actor())
    if work.failed:
        abort(404)
    flash(_("The field was deleted, with %(count)d values.", count=removed), "success")
    return redirect(url_for("fields.index"))
