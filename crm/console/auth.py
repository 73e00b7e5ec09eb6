"""Sign-in, sign-out and language choice (Flask-Login, Flask-WTF forms with CSRF)."""

from __future__ import annotations

import math
from datetime import timedelta

from flask import (
    Blueprint,
    Flask,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectField
from wtforms.fields import SelectChoice
from wtforms.validators import DataRequired, Email, Length

from crm.console.errors import HTTPS_MESSAGE
from crm.db import get_session, unit_of_work
from crm.extensions import login_manager
from crm.i18n import LOCALES
from crm.security import session_cookie_dropped
from crm.staff import audit, throttle
from crm.staff import service as staff_service
from crm.staff.audit import Actor
from crm.staff.models import Staff
from crm.timeutil import utcnow

bp = Blueprint("auth", __name__)


class StaffUser:
    """The signed-in staff member as Flask-Login sees them. The session keeps "id:version": raising the account's
    session version (sign-out, a new password, a role change, deactivation) ends every session made before."""

    is_authenticated = True
    is_active = True
    is_anonymous = False

    def __init__(self, staff: Staff):
        self.id, self.email, self.role = staff.id, staff.email, staff.role
        self.display_name, self.locale = staff.display_name, staff.locale
        self.session_version = staff.session_version

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"


@login_manager.user_loader
def load_user(session_id: str):
    staff_id, _, version = session_id.partition(":")
    staff = get_session().get(Staff, int(staff_id)) if staff_id.isdigit() and version.isdigit() else None
    if staff is None or not staff.active or staff.session_version != int(version):
        return None
    return StaffUser(staff)


class LoginForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Email(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])


class LanguageForm(FlaskForm):
    locale = SelectField(_l("Language"), choices=[SelectChoice("ja", "日本語"), SelectChoice("en", "English")])


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Sign in with email and password; repeated failures are throttled."""
    form = LoginForm()
    if session_cookie_dropped():
        page = render_template("auth/login.html", form=form, https_required=HTTPS_MESSAGE)
        return page, 400 if request.method == "POST" else 200
    if not form.validate_on_submit():
        return render_template("auth/login.html", form=form), 400 if request.method == "POST" else 200
    db = get_session()
    email, ip_address, now = staff_service.normalise_email(form.email.data), request.remote_addr or "unknown", utcnow()
    wait = throttle.wait_before_next_try(db, email=email, ip_address=ip_address, now=now)
    if wait is not None:
        flash(_("Too many failed sign-ins. Wait %(wait)s and try again.", wait=_duration(wait)), "error")
        response = make_response(render_template("auth/login.html", form=form), 429)
        response.headers["Retry-After"] = str(math.ceil(wait.total_seconds()))
        return response
    with unit_of_work():  # a failed attempt is recorded too, for throttling
        staff = staff_service.authenticate(db, email=email, password=form.password.data, ip_address=ip_address, now=now)
        if staff is not None:
            audit.record(
                db,
                actor=Actor.staff(staff.id, staff.email),
                action="staff.signed_in",
                target_type="staff",
                target_id=staff.id,
            )
    if staff is None:
        flash(_("Email or password is wrong."), "error")
        return render_template("auth/login.html", form=form), 401
    session.clear()
    login_user(StaffUser(staff))
    return redirect(url_for("home.index"))


@bp.post("/logout")
def logout():
    """Sign out, ending this account's sessions everywhere (a copied cookie stops working too)."""
    if current_user.is_authenticated:
        with unit_of_work() as work:
            staff_service.end_sessions(work.session.get(Staff, current_user.id))
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))


@bp.post("/language")
def language():
    """Choose the console language (saved on the staff account when signed in)."""
    form = LanguageForm()
    if form.validate_on_submit() and form.locale.data in LOCALES:
        session["locale"] = form.locale.data
        if current_user.is_authenticated:
            with unit_of_work() as work:
                work.session.get(Staff, current_user.id).locale = form.locale.data
    return redirect(request.referrer if _is_local(request.referrer) else url_for("home.index"))


def _duration(wait: timedelta) -> str:
    """A wait in whole seconds under a minute, else in whole minutes, rounded up."""
    seconds = math.ceil(wait.total_seconds())
    if seconds < 60:
        return _("%(seconds)d seconds", seconds=seconds)
    return _("%(minutes)d minutes", minutes=math.ceil(seconds / 60))


def _is_local(url: str | None) -> bool:
    return bool(url) and url.startswith(request.host_url)


def init_app(app: Flask) -> None:
    """Register the sign-in pages and the language form every console page shows."""
    app.register_blueprint(bp)

    @app.context_processor
    def _language_form():
        return {"language_form": LanguageForm(locale=session.get("locale", "ja"))}
