"""Staff accounts for admins: list, create, change role, deactivate, reactivate, reset password."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectField, StringField
from wtforms.fields import SelectChoice
from wtforms.validators import DataRequired, Email, Length

from crm.console.guard import current_actor, requires
from crm.db import UnitOfWork, get_session, unit_of_work
from crm.i18n import message_of
from crm.permissions import ROLE_LABELS, ROLES
from crm.staff import admin as staff_accounts
from crm.staff import api_tokens
from crm.staff.admin import StaffAccountError
from crm.staff.service import MIN_PASSWORD_LENGTH

bp = Blueprint("staff_admin", __name__, url_prefix="/staff")

ROLE_CHOICES = [SelectChoice(role, ROLE_LABELS[role]) for role in ROLES]
PASSWORD_RULES = [DataRequired(), Length(min=MIN_PASSWORD_LENGTH, max=200)]


class CreateStaffForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Email(), Length(max=254)])
    display_name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)])
    role = SelectField(_l("Role"), choices=ROLE_CHOICES)
    password = PasswordField(_l("Initial password (10 characters or more)"), validators=PASSWORD_RULES)


class RoleForm(FlaskForm):
    role = SelectField(_l("Role"), choices=ROLE_CHOICES)


class PasswordForm(FlaskForm):
    password = PasswordField(_l("New password (10 characters or more)"), validators=PASSWORD_RULES)


class ActiveForm(FlaskForm):
    """Only the CSRF token: the button says what happens."""


def _render_edit(staff_id: int, status: int = 200, role_form=None, password_form=None):
    try:
        staff = staff_accounts.get_staff(get_session(), staff_id)
    except StaffAccountError:
        abort(404)
    return render_template(
        "staff_admin/edit.html",
        staff=staff,
        is_self=staff.id == current_user.id,
        role_form=role_form or RoleForm(data={"role": staff.role}),
        password_form=password_form or PasswordForm(),
        active_form=ActiveForm(),
        token_count=api_tokens.count_active_tokens_created_by(get_session(), staff.id),
    ), status


def _refused(work: UnitOfWork) -> bool:
    """Whether the change was refused (and rolled back); if so say why (404 when the account does not exist)."""
    if not work.failed:
        return False
    if work.error.code == "not_found":
        abort(404)
    flash(message_of(work.error), "error")
    return True


def _render_index(form: CreateStaffForm, status: int = 200):
    return render_template(
        "staff_admin/index.html", accounts=staff_accounts.list_staff(get_session()), form=form, role_labels=ROLE_LABELS
    ), status


@bp.get("")
@requires("staff.manage")
def index():
    """Every staff account, and a form to add one."""
    return _render_index(CreateStaffForm())


@bp.post("/new")
@requires("staff.manage")
def create():
    """Create a staff account with an initial password."""
    form = CreateStaffForm()
    if form.validate_on_submit():
        with unit_of_work(StaffAccountError) as work:
            staff = staff_accounts.create_account(
                get_session(),
                email=form.email.data,
                display_name=form.display_name.data,
                role=form.role.data,
                password=form.password.data,
                actor=current_actor(),
            )
        if not _refused(work):
            flash(_("Account %(email)s created.", email=staff.email), "success")
            return redirect(url_for("staff_admin.index"))
    return _render_index(form, 400)


@bp.get("/<int:staff_id>")
@requires("staff.manage")
def edit(staff_id: int):
    """One account: role, activation and password."""
    return _render_edit(staff_id)


@bp.post("/<int:staff_id>/role")
@requires("staff.manage")
def change_role(staff_id: int):
    """Give an account another role."""
    form = RoleForm()
    if form.validate_on_submit():
        with unit_of_work(StaffAccountError) as work:
            staff_accounts.change_role(get_session(), staff_id=staff_id, role=form.role.data, actor=current_actor())
        if not _refused(work):
            flash(_("Role changed."), "success")
            return redirect(url_for("staff_admin.edit", staff_id=staff_id))
    return _render_edit(staff_id, 400, role_form=form)


def _set_active(staff_id: int, active: bool):
    form = ActiveForm()
    if form.validate_on_submit():
        with unit_of_work(StaffAccountError) as work:
            staff_accounts.set_active(get_session(), staff_id=staff_id, active=active, actor=current_actor())
        if not _refused(work):
            flash(_("Account reactivated.") if active else _("Account deactivated."), "success")
            return redirect(url_for("staff_admin.edit", staff_id=staff_id))
    return _render_edit(staff_id, 400)


@bp.post("/<int:staff_id>/deactivate")
@requires("staff.manage")
def deactivate(staff_id: int):
    """Deactivate an account; the person is signed out at their next request."""
    return _set_active(staff_id, False)


@bp.post("/<int:staff_id>/reactivate")
@requires("staff.manage")
def reactivate(staff_id: int):
    """Let a deactivated account sign in again."""
    return _set_active(staff_id, True)


@bp.post("/<int:staff_id>/password")
@requires("staff.manage")
def reset_password(staff_id: int):
    """Set a new password for an account."""
    form = PasswordForm()
    if form.validate_on_submit():
        with unit_of_work(StaffAccountError) as work:
            staff_accounts.reset_password(
                get_session(), staff_id=staff_id, password=form.password.data, actor=current_actor()
            )
        if not _refused(work):
            flash(_("Password changed. Tell the person their new password in person or by phone."), "success")
            return redirect(url_for("staff_admin.edit", staff_id=staff_id))
    return _render_edit(staff_id, 400, password_form=form)
