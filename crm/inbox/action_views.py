"""The chat page's changes: a reply (answered as JSON to the page's script, or by a redirect without it) and the
conversation's assignment."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _

from crm.chat import service as chat
from crm.chat.reply import send_reply, sent_notice
from crm.console.guard import current_actor, requires
from crm.db import get_session, unit_of_work
from crm.friends.page_forms import ReplyForm
from crm.friends.page_views import quota_cache
from crm.inbox import assignment
from crm.inbox.forms import NOBODY, AssignForm, staff_choices
from crm.inbox.views import friend_or_404, render_inbox
from crm.line.runtime import line_client
from crm.timeutil import utcnow

bp = Blueprint("inbox_actions", __name__)


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


def _reply_failed(friend, form: ReplyForm, message: str, status: int):
    if _wants_json():
        return jsonify(ok=False, error=message), status
    return render_inbox(friend, status=status, reply_error=message, typed_reply=form.text.data)


@bp.post("/chat/<int:friend_id>/reply")
@requires("chat.send")
def reply(friend_id: int):
    """Push a text to the friend through the 1:1 chat service (the form's retry key delivers it once), then give
    the page a fresh key and the quota as LINE now counts it."""
    db = get_session()
    friend = friend_or_404(friend_id)
    form = ReplyForm()
    if not form.validate_on_submit():
        abort(400)
    outcome = send_reply(
        db,
        line_client(current_app),
        friend=friend,
        text=form.text.data,
        retry_key=form.retry_key.data,
        actor=current_actor(),
    )
    if outcome.error:
        return _reply_failed(friend, form, outcome.error, outcome.status)
    cache = quota_cache(current_app)
    cache.forget()
    notice = sent_notice(outcome)
    if _wants_json():
        quota_html = render_template("friends/_quota.html", quota=cache.get())
        return jsonify(ok=True, notice=notice, retry_key=chat.new_retry_key(), quota_html=quota_html)
    flash(notice, "success")
    return redirect(url_for("inbox.show", friend_id=friend_id, _anchor="talk"))


@bp.post("/chat/<int:friend_id>/assign")
@requires("chat.send")
def assign(friend_id: int):
    """Give the conversation to a staff member, or to nobody."""
    db = get_session()
    friend_or_404(friend_id)
    form = AssignForm()
    form.staff_id.choices = staff_choices(db)
    if not form.validate_on_submit():
        abort(400)
    staff_id = None if form.staff_id.data == NOBODY else form.staff_id.data
    with unit_of_work(assignment.AssignmentError, flash_error=True) as work:
        changed = assignment.assign(db, friend_id=friend_id, staff_id=staff_id, actor=current_actor(), at=utcnow())
    if not work.failed and changed:
        flash(_("The conversation's assignment was changed."), "success")
    return redirect(url_for("inbox.show", friend_id=friend_id))
