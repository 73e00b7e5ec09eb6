"""Settings › Webhooks: outbound endpoints (events, secret, recent attempts, test event) and the relay's status."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectMultipleField, StringField
from wtforms.fields import SelectChoice
from wtforms.validators import Length
from wtforms.widgets import CheckboxInput, ListWidget

from crm.console.guard import current_actor, requires
from crm.db import get_session, unit_of_work
from crm.i18n import message_of
from crm.outbound import outbox as webhook_outbox
from crm.outbound import relay, transport
from crm.outbound.models import WebhookEndpoint
from crm.outbound.outbox import WebhookError
from crm.staff.audit import record

bp = Blueprint("webhooks", __name__, url_prefix="/settings/webhooks")
PERMISSION = "settings.manage"
EVENT_LABELS = {
    "friend.followed": _l("A friend followed (or unblocked) the account"),
    "friend.blocked": _l("A friend blocked the account"),
    "tag.added": _l("A tag was added to friends"),
    "tag.removed": _l("A tag was removed from friends"),
    "survey.answered": _l("A friend finished a survey"),
    "link.clicked": _l("A friend clicked a tracked link"),
    "broadcast.finished": _l("A broadcast finished sending"),
    "scenario.enrolled": _l("A friend was enrolled in a scenario"),
    "scenario.exited": _l("A friend left a scenario before its end"),
    "scenario.goal_reached": _l("A friend in a scenario reached its goal"),
}


class EndpointForm(FlaskForm):
    url = StringField(_l("URL"), validators=[Length(max=1000)])
    description = StringField(_l("Description"), validators=[Length(max=200)])
    events = SelectMultipleField(
        _l("Events"),
        choices=[SelectChoice(name, name) for name in webhook_outbox.EVENTS],
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
        validate_choice=False,
    )
    active = BooleanField(_l("Active"), default=True)


class ButtonForm(FlaskForm):
    """A button (CSRF token only)."""


def _endpoint(endpoint_id: int) -> WebhookEndpoint:
    endpoint = get_session().get(WebhookEndpoint, endpoint_id)
    if endpoint is None:
        abort(404)
    return endpoint


def _index(form: EndpointForm, status: int = 200, error: str | None = None):
    db = get_session()
    return render_template(
        "webhooks/index.html",
        endpoints=webhook_outbox.list_endpoints(db),
        form=form,
        event_labels=EVENT_LABELS,
        error=error,
        relay_status=relay.status(db),
        relay_url=_relay_url(),
        failure_text=failure_text,
    ), status


def _relay_url() -> str:
    return current_app.config.get("LINE_WEBHOOK_RELAY_URL") or ""


def _allow_private() -> bool:
    return bool(current_app.config.get("OUTBOUND_ALLOW_PRIVATE_TARGETS"))


def failure_text(failure: str | None, status_code: int | None = None) -> str:
    """A stored failure as staff read it: a category in their language, never exception text."""
    if status_code is not None:
        return f"HTTP {status_code}"
    label = transport.failure_label(failure)
    return _(label) if label else ""


@bp.get("")
@requires(PERMISSION)
def index():
    """The endpoints, a form for a new one, and the relay's status."""
    return _index(EndpointForm(formdata=None))


@bp.post("")
@requires(PERMISSION)
def create():
    """Register an endpoint; its secret is shown on its page."""
    form = EndpointForm()
    if not form.validate_on_submit():
        return _index(form, 400)
    db = get_session()
    actor = current_actor()
    with unit_of_work(WebhookError) as work:
        endpoint = webhook_outbox.create_endpoint(
            db,
            url=form.url.data,
            events=form.events.data or [],
            description=form.description.data,
            staff_id=actor.staff_id,
            allow_private=_allow_private(),
        )
        record(
            db,
            actor=actor,
            action="webhook.created",
            target_type="webhook_endpoint",
            target_id=endpoint.id,
            after={"url": endpoint.url, "events": endpoint.events},
        )
    if work.failed:
        return _index(form, 400, message_of(work.error))
    flash(_("The endpoint was added. Give its signing secret to the receiver."), "success")
    return redirect(url_for("webhooks.show", endpoint_id=endpoint.id))


def _show(endpoint: WebhookEndpoint, form: EndpointForm, status: int = 200, error: str | None = None):
    db = get_session()
    return render_template(
        "webhooks/show.html",
        endpoint=endpoint,
        form=form,
        button=ButtonForm(),
        attempts=webhook_outbox.recent_attempts(db, endpoint.id),
        counts=webhook_outbox.state_counts(db, endpoint.id),
        event_labels=EVENT_LABELS,
        error=error,
        failure_text=failure_text,
    ), status


@bp.get("/<int:endpoint_id>")
@requires(PERMISSION)
def show(endpoint_id: int):
    """One endpoint: its settings, secret, delivery counts and latest attempts (Japan time)."""
    endpoint = _endpoint(endpoint_id)
    form = EndpointForm(
        formdata=None,
        url=endpoint.url,
        description=endpoint.description,
        events=endpoint.events.split(),
        active=endpoint.active,
    )
    return _show(endpoint, form)


@bp.post("/<int:endpoint_id>")
@requires(PERMISSION)
def update(endpoint_id: int):
    """Change an endpoint."""
    endpoint, form = _endpoint(endpoint_id), EndpointForm()
    if not form.validate_on_submit():
        return _show(endpoint, form, 400)
    db = get_session()
    with unit_of_work(WebhookError) as work:
        webhook_outbox.update_endpoint(
            db,
            endpoint,
            url=form.url.data,
            events=form.events.data or [],
            description=form.description.data,
            active=bool(form.active.data),
            allow_private=_allow_private(),
        )
        record(
            db,
            actor=current_actor(),
            action="webhook.updated",
            target_type="webhook_endpoint",
            target_id=endpoint.id,
            after={"url": endpoint.url, "events": endpoint.events, "active": endpoint.active},
        )
    if work.failed:
        return _show(_endpoint(endpoint_id), form, 400, message_of(work.error))
    flash(_("The endpoint was saved."), "success")
    return redirect(url_for("webhooks.show", endpoint_id=endpoint.id))


@bp.post("/<int:endpoint_id>/test")
@requires(PERMISSION)
def send_test(endpoint_id: int):
    """Queue a webhook.test event for this endpoint."""
    endpoint = _endpoint(endpoint_id)
    if not ButtonForm().validate_on_submit():
        abort(400)
    with unit_of_work():
        webhook_outbox.send_test(get_session(), endpoint_id=endpoint.id)
    flash(_("A test event was queued; its attempt appears below within a few seconds."), "success")
    return redirect(url_for("webhooks.show", endpoint_id=endpoint.id))


@bp.post("/<int:endpoint_id>/delete")
@requires(PERMISSION)
def delete(endpoint_id: int):
    """Delete an endpoint and its queued deliveries."""
    endpoint = _endpoint(endpoint_id)
    if not ButtonForm().validate_on_submit():
        abort(400)
    with unit_of_work() as work:
        record(
            work.session,
            actor=current_actor(),
            action="webhook.deleted",
            target_type="webhook_endpoint",
            target_id=endpoint.id,
            before={"url": endpoint.url, "events": endpoint.events},
        )
        webhook_outbox.delete_endpoint(work.session, endpoint)
    flash(_("The endpoint was deleted."), "success")
    return redirect(url_for("webhooks.index"))
