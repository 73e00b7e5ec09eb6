"""API tokens for admins (settings.manage): create one with a role (its secret shown once), see last use, revoke."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.fields import SelectChoice
from wtforms.validators import DataRequired, Length

from crm.console.forms import form_error
from crm.console.guard import current_actor, requires
from crm.db import get_session, unit_of_work
from crm.permissions import ROLE_LABELS, ROLES
from crm.staff import api_tokens
from crm.staff.models import ApiToken
from crm.timeutil import utcnow

bp = Blueprint("api_tokens", __name__, url_prefix="/settings/api-tokens")


class TokenForm(FlaskForm):
    name = StringField(_l("Name (what uses this token)"), validators=[DataRequired(), Length(max=100)])
    role = SelectField(_l("Role"), choices=[SelectChoice(role, ROLE_LABELS[role]) for role in ROLES])


class RevokeForm(FlaskForm):
    """Only the CSRF token: the button says what happens."""


def _render(form: TokenForm, *, secret: str | None = None, status: int = 200):
    return render_template(
        "api_tokens/index.html",
        tokens=api_tokens.list_tokens(get_session()),
        form=form,
        revoke_form=RevokeForm(),
        secret=secret,
        role_labels=ROLE_LABELS,
    ), status


@bp.get("")
@requires("settings.manage")
def index():
    """Every token with its role and last use, and a form to create one."""
    return _render(TokenForm())


@bp.post("")
@requires("settings.manage")
def create():
    """Create a token and show its secret this once (it is stored only as a hash)."""
    form = TokenForm()
    if not form.validate_on_submit():
        return _render(form, status=400)
    with unit_of_work(api_tokens.TokenError) as work:
        _token, secret = api_tokens.create_token(
            get_session(), name=form.name.data, role=form.role.data, actor=current_actor()
        )
    if work.failed:
        form_error(form, work.error, "name")
        return _render(form, status=400)
    return _render(TokenForm(formdata=None), secret=secret, status=201)


@bp.post("/<int:token_id>/revoke")
@requires("settings.manage")
def revoke(token_id: int):
    """Revoke a token: calls with it fail at once."""
    db = get_session()
    if db.get(ApiToken, token_id) is None:
        abort(404)
    if not RevokeForm().validate_on_submit():
        abort(400)
    with unit_of_work():
        api_tokens.revoke_token(db, token_id=token_id, actor=current_actor(), now=utcnow())
    flash(_("The token was revoked."), "success")
    return redirect(url_for("api_tokens.index"))
