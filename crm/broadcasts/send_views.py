"""Sending a broadcast: preview as a friend, test send, the confirmation page, schedule, approve, cancel,
resume, and the test-friend list. Only marketers and admins (broadcasts.send) reach these pages."""

from __future__ import annotations

import json

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlmodel import Session

from crm.broadcasts import drafts as broadcast_drafts
from crm.broadcasts import lifecycle as broadcasts
from crm.broadcasts import testers as test_friends
from crm.broadcasts import variants as broadcast_variants
from crm.broadcasts.delivery.sender import prepare_test_sends, push_test_sends
from crm.broadcasts.forms import ActionForm, ScheduleForm, TestFriendForm
from crm.broadcasts.models import Broadcast
from crm.broadcasts.models import BroadcastStatus as S
from crm.broadcasts.options import BroadcastError
from crm.broadcasts.views import load
from crm.console.guard import current_actor, requires
from crm.db import get_session, unit_of_work
from crm.friends.models import Friend
from crm.i18n import message_of
from crm.line.runtime import line_client
from crm.message_templates import content as broadcast_content
from crm.timeutil import utcnow

bp = Blueprint("broadcast_send", __name__, url_prefix="/broadcasts")


def _back(broadcast_id: int):
    return redirect(url_for("broadcasts.show", broadcast_id=broadcast_id))


def _preview_friend(db: Session) -> Friend | None:
    """The friend chosen with ?friend_id=, else the first test friend."""
    friend_id = request.args.get("friend_id", type=int)
    if friend_id is None:
        ids = test_friends.ids(db)
        friend_id = ids[0] if ids else None
    return db.get(Friend, friend_id) if friend_id is not None else None


def _rendered(db: Session, broadcast: Broadcast, friend: Friend | None, messages: list[dict] | None = None):
    """The messages (the broadcast's own unless given) as the friend will see them (links shown untracked: a
    preview writes no link tokens)."""
    messages = json.loads(broadcast.messages) if messages is None else messages
    if friend is None:
        return messages
    return broadcast_content.render(
        db,
        messages,
        friend=friend,
        base_url=current_app.config["PUBLIC_BASE_URL"],
        broadcast_id=broadcast.id,
        track_links=False,
    )


def _rendered_variants(db: Session, broadcast: Broadcast, friend: Friend | None) -> list[tuple]:
    """(variant, rendered messages) of each A/B variant (empty: no A/B test)."""
    return [
        (variant, _rendered(db, broadcast, friend, variant.messages))
        for variant in broadcast_variants.of_broadcast(db, broadcast.id)
    ]


@bp.get("/<int:broadcast_id>/preview")
@requires("broadcasts.send")
def preview(broadcast_id: int):
    """The messages as a chosen friend will see them."""
    db = get_session()
    broadcast = load(db, broadcast_id)
    friend = _preview_friend(db)
    return render_template(
        "broadcasts/preview.html",
        broadcast=broadcast,
        friend=friend,
        rendered=_rendered(db, broadcast, friend),
        variants=_rendered_variants(db, broadcast, friend),
        testers=test_friends.listing(db),
        action_form=ActionForm(),
    )


@bp.post("/<int:broadcast_id>/test")
@requires("broadcasts.send")
def test_send(broadcast_id: int):
    """Push the rendered messages now to every test friend, marked as a test."""
    db = get_session()
    broadcast = load(db, broadcast_id)
    if not ActionForm().validate_on_submit():
        flash(_("The form expired. Try again."), "error")
        return redirect(url_for("broadcast_send.preview", broadcast_id=broadcast.id))
    ids = test_friends.ids(db)
    if not ids:
        flash(_("Add a test friend first."), "error")
        return redirect(url_for("broadcast_send.test_friends_page"))
    with unit_of_work():  # link tokens written for the test copies
        sends = prepare_test_sends(
            db, broadcast_id=broadcast.id, friend_ids=ids, base_url=current_app.config["PUBLIC_BASE_URL"]
        )
    results = push_test_sends(line_client(current_app), sends)
    sent = len({result.friend_id for result in results if result.ok})
    variants = sorted({send.variant for send in sends if send.variant})
    if sent and variants:
        flash(
            _("Test of variants %(labels)s sent to %(count)s test friends.", labels=", ".join(variants), count=sent),
            "success",
        )
    elif sent:
        flash(_("Test sent to %(count)s test friends.", count=sent), "success")
    for result in results:
        if not result.ok:
            flash(
                _("LINE refused the test send to friend #%(id)s: %(reason)s", id=result.friend_id, reason=result.error),
                "error",
            )
    return redirect(url_for("broadcast_send.preview", broadcast_id=broadcast.id))


def _confirm_page(db: Session, broadcast: Broadcast, form: ScheduleForm, status: int = 200):
    count, problem = None, None
    try:
        count = broadcasts.estimate(db, broadcasts.audience_tree(db, broadcast), now=utcnow())
    except BroadcastError as error:
        problem = message_of(error)
    threshold = current_app.config["BROADCAST_APPROVAL_THRESHOLD"]
    friend = _preview_friend(db)
    variants = _rendered_variants(db, broadcast, friend)
    sent_group = None if count is None else count * (100 - broadcast.control_percent) / 100
    return render_template(
        "broadcasts/confirm.html",
        broadcast=broadcast,
        form=form,
        count=count,
        problem=problem,
        threshold=threshold,
        friend=friend,
        rendered=_rendered(db, broadcast, friend),
        variants=variants,
        split=[
            (variant, None if sent_group is None else round(sent_group * variant.weight / 100))
            for variant, _ in variants
        ],
    ), status


@bp.get("/<int:broadcast_id>/confirm")
@requires("broadcasts.send")
def confirm(broadcast_id: int):
    """Before a real send: the count, a preview, and a confirmation that it cannot be recalled."""
    db = get_session()
    broadcast = load(db, broadcast_id)
    if broadcast.status != S.DRAFT:
        return _back(broadcast.id)
    return _confirm_page(db, broadcast, ScheduleForm(formdata=None))


@bp.post("/<int:broadcast_id>/schedule")
@requires("broadcasts.send")
def schedule(broadcast_id: int):
    """Send now or schedule; above the threshold the broadcast waits for a second person's approval."""
    db = get_session()
    broadcast = load(db, broadcast_id)
    form = ScheduleForm()
    if not form.validate_on_submit():
        return _confirm_page(db, broadcast, form, 400)
    try:
        at = form.send_at()
    except ValueError:
        form.at.errors = [_("Enter the date and time.")]
        return _confirm_page(db, broadcast, form, 400)
    with unit_of_work(BroadcastError) as work:
        broadcasts.schedule(
            db,
            actor=current_actor(),
            broadcast_id=broadcast.id,
            at=at,
            now=utcnow(),
            approval_threshold=current_app.config["BROADCAST_APPROVAL_THRESHOLD"],
        )
    if work.failed:
        form.at.errors = [message_of(work.error)]
        return _confirm_page(db, load(db, broadcast_id), form, 400)
    flash(
        _("Waiting for a second marketer or admin to approve.")
        if broadcast.status == S.AWAITING_APPROVAL
        else _("Scheduled.")
        if at
        else _("Sending starts in a moment."),
        "success",
    )
    return _back(broadcast.id)


def _act(broadcast_id: int, action, done: str):
    """Run a lifecycle action from a button form, with a flash message either way."""
    db = get_session()
    broadcast = load(db, broadcast_id)
    if not ActionForm().validate_on_submit():
        flash(_("The form expired. Try again."), "error")
        return _back(broadcast.id)
    with unit_of_work(BroadcastError, flash_error=True) as work:
        action(db, actor=current_actor(), broadcast_id=broadcast.id, now=utcnow())
    if not work.failed:
        flash(done, "success")
    return _back(broadcast.id)


@bp.post("/<int:broadcast_id>/cancel")
@requires("broadcasts.send")
def cancel(broadcast_id: int):
    """Cancel before sending starts."""
    return _act(broadcast_id, broadcasts.cancel, _("Broadcast cancelled."))


@bp.post("/<int:broadcast_id>/approve")
@requires("broadcasts.send")
def approve(broadcast_id: int):
    """A second marketer or admin approves."""
    return _act(broadcast_id, broadcasts.approve, _("Approved: the broadcast is scheduled."))


@bp.post("/<int:broadcast_id>/resume")
@requires("broadcasts.send")
def resume(broadcast_id: int):
    """Resume a paused broadcast."""
    return _act(broadcast_id, broadcasts.resume, _("Resumed: sending carries on."))


@bp.post("/<int:broadcast_id>/copy")
@requires("broadcasts.send")
def copy(broadcast_id: int):
    """A new draft with this broadcast's content and options."""
    db = get_session()
    broadcast = load(db, broadcast_id)
    if not ActionForm().validate_on_submit():
        flash(_("The form expired. Try again."), "error")
        return _back(broadcast.id)
    with unit_of_work():
        draft = broadcast_drafts.copy_draft(
            db, actor=current_actor(), broadcast_id=broadcast.id, copy_name=_("%(name)s (copy)")
        )
    flash(_("Copied as a new draft."), "success")
    return redirect(url_for("broadcasts.edit", broadcast_id=draft.id))


def _back_to(friend_id: int):
    """Back where the button was: the friend's page (back=friend) or the test-friend list."""
    if request.form.get("back") == "friend":
        return redirect(url_for("friend.show", friend_id=friend_id))
    return redirect(url_for("broadcast_send.test_friends_page"))


@bp.route("/test-friends", methods=["GET", "POST"])
@requires("broadcasts.send")
def test_friends_page():
    """The friends that receive test sends: list, find by name and add, or add by friend ID."""
    db = get_session()
    form = TestFriendForm()
    search = (request.args.get("q") or "").strip()[:100]
    if form.validate_on_submit():
        with unit_of_work(BroadcastError) as work:
            test_friends.add(db, actor=current_actor(), friend_id=form.friend_id.data, label=form.label.data)
        if work.failed:
            form.friend_id.errors = [message_of(work.error)]
        else:
            flash(_("Test friend added."), "success")
            return _back_to(form.friend_id.data)
    status = 400 if request.method == "POST" else 200
    return render_template(
        "broadcasts/test_friends.html",
        form=form,
        testers=test_friends.listing(db),
        action_form=ActionForm(),
        search=search,
        found=test_friends.candidates(db, search=search, now=utcnow()),
    ), status


@bp.post("/test-friends/<int:friend_id>/remove")
@requires("broadcasts.send")
def remove_test_friend(friend_id: int):
    """Take a friend off the test list."""
    db = get_session()
    if ActionForm().validate_on_submit():
        with unit_of_work():
            test_friends.remove(db, actor=current_actor(), friend_id=friend_id)
        flash(_("Test friend removed."), "success")
    return _back_to(friend_id)
