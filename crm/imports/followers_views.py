"""Settings › Followers import: start an import of LINE's followers ids and watch its progress."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm

from crm.console.guard import current_actor, requires
from crm.db import get_session, unit_of_work
from crm.imports import followers as followers_import
from crm.imports.models import ImportState
from crm.timeutil import utcnow

bp = Blueprint("followers_import", __name__, url_prefix="/settings/followers-import")


class StartForm(FlaskForm):
    """The start button (CSRF token only)."""


@bp.get("")
@requires("settings.manage")
def index():
    """The latest import's progress (the page refreshes itself while it runs) and the start button."""
    job = followers_import.latest(get_session())
    message = None
    if job is not None and job.last_error:
        message = _(followers_import.FORBIDDEN_MESSAGE) if job.state == ImportState.FORBIDDEN else job.last_error
    return render_template(
        "followers_import/index.html",
        job=job,
        form=StartForm(),
        message=message,
        running=job is not None and job.state == ImportState.RUNNING,
        states=ImportState,
    )


@bp.post("")
@requires("settings.manage")
def start():
    """Start a new import (refused while one runs)."""
    if not StartForm().validate_on_submit():
        abort(400)
    with unit_of_work(followers_import.FollowersImportError, flash_error=True) as work:
        followers_import.start(get_session(), actor=current_actor(), now=utcnow())
    if work.failed:
        return redirect(url_for("followers_import.index"))
    flash(_("The import started. The worker reads 1,000 followers per page."), "success")
    return redirect(url_for("followers_import.index"))
