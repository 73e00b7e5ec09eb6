"""Settings › Failed LINE events: the events whose handling failed, with their error and a retry button."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm

from crm.console.guard import current_actor, requires
from crm.db import get_engine, get_session, unit_of_work
from crm.i18n import message_of
from crm.staff.audit import record
from crm.webhook import failures
from crm.webhook.events import retry_failed_event
from crm.webhook.failures import FailedEventError
from crm.webhook.hooks import HOOKS_KEY
from crm.webhook.postbacks import REGISTRY_KEY

bp = Blueprint("webhook_failures", __name__, url_prefix="/settings/line-events/failed")
PERMISSION = "settings.manage"


class RetryForm(FlaskForm):
    """The retry button (CSRF token only)."""


@bp.get("")
@requires(PERMISSION)
def index():
    """Failed events, unresolved first, with their error and payload (Japan time)."""
    return render_template(
        "webhook_failures/index.html", failures=failures.list_failures(get_session()), form=RetryForm()
    )


@bp.post("/<int:failure_id>/retry")
@requires(PERMISSION)
def retry(failure_id: int):
    """Handle the event again; once handled it is never acted on twice."""
    if not RetryForm().validate_on_submit():
        abort(400)
    try:
        outcome = retry_failed_event(
            get_engine(current_app),
            failure_id=failure_id,
            registry=current_app.extensions[REGISTRY_KEY],
            hooks=current_app.extensions.get(HOOKS_KEY),
        )
    except FailedEventError as error:
        flash(message_of(error), "error")
        return redirect(url_for("webhook_failures.index"))
    with unit_of_work() as work:
        record(
            work.session,
            actor=current_actor(),
            action="webhook_event.retried",
            target_type="failed_webhook_event",
            target_id=failure_id,
            after={"outcome": outcome},
        )
    if outcome == "failed":
        flash(_("The event failed again. Its latest error is shown below."), "error")
    elif outcome == "duplicate":
        flash(_("The event had already been handled; nothing was done twice."), "success")
    else:
        flash(_("The event was handled."), "success")
    return redirect(url_for("webhook_failures.index"))
