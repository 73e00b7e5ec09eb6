"""Data export and erasure pages: the full export (CSV / JSON Lines), a friend's data (JSON) and erasure."""

from __future__ import annotations

import functools
import json

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import gettext
from flask_wtf import FlaskForm
from sqlmodel import Session
from wtforms import StringField

from crm.console.guard import current_actor, requires
from crm.db import get_engine, get_session, unit_of_work
from crm.friends.models import Friend
from crm.privacy import export
from crm.privacy import service as privacy
from crm.staff.audit import record
from crm.timeutil import to_tokyo, utcnow

bp = Blueprint("privacy", __name__)
FORMATS = {"csv": ("text/csv", export.csv_chunks), "jsonl": ("application/x-ndjson", export.jsonl_chunks)}


class EraseForm(FlaskForm):
    """The erasure confirmation: the staff member types the friend's number."""

    confirm = StringField()


def _friend_or_404(db: Session, friend_id: int) -> Friend:
    friend = db.get(Friend, friend_id)
    if friend is None:
        abort(404)
    return friend


@bp.get("/exports")
@requires("friends.export")
def exports():
    """The full export page: links to the CSV and JSON Lines downloads."""
    return render_template("privacy/exports.html")


@bp.get("/exports/friends.<any(csv, jsonl):fmt>")
@requires("friends.export")
def export_all(fmt: str):
    """Every friend with tags, fields, notes, answers and clicks, streamed in keyset batches; audited."""
    db, now = get_session(), utcnow()
    with unit_of_work():
        record(
            db,
            actor=current_actor(),
            action="friends.exported_all",
            target_type="friend_list",
            after={"format": fmt, **({"columns": "keys"} if request.args.get("columns") == "keys" else {})},
        )
    mimetype, chunks = FORMATS[fmt]
    name = f"friends-all-{to_tokyo(now):%Y%m%d-%H%M}.{fmt}"
    if fmt == "csv":  # headers and statuses in the staff member's words, or machine keys with ?columns=keys
        chunks = functools.partial(chunks, words=None if request.args.get("columns") == "keys" else gettext)
    return Response(
        stream_with_context(_stream(get_engine(current_app), chunks, now)),
        mimetype=mimetype,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _stream(engine, chunks, now):
    """Read through a session of the stream's own (the request's is closed before the body is sent)."""
    with Session(engine) as db:
        yield from chunks(db, now=now)


@bp.get("/friends/<int:friend_id>/data.json")
@requires("data.erase")
def friend_data(friend_id: int):
    """Everything held about one friend as a JSON download (audited without the data)."""
    db = get_session()
    _friend_or_404(db, friend_id)
    body = json.dumps(privacy.friend_export(db, friend_id), ensure_ascii=False, indent=2)
    with unit_of_work():
        record(db, actor=current_actor(), action="friend.data_exported", target_type="friend", target_id=friend_id)
    return Response(
        body,
        mimetype="application/json",
        headers={"Content-Disposition": f'attachment; filename="friend-{friend_id}.json"'},
    )


@bp.route("/friends/<int:friend_id>/erase", methods=["GET", "POST"])
@requires("data.erase")
def erase(friend_id: int):
    """Confirm (GET), then erase the friend's personal data (POST with the friend's number typed)."""
    db = get_session()
    friend = _friend_or_404(db, friend_id)
    form = EraseForm()
    if privacy.is_erased(friend):
        flash(gettext("This friend's data was already erased."), "error")
        return redirect(url_for("friend.show", friend_id=friend_id))
    if not form.validate_on_submit():
        return render_template("privacy/erase.html", friend=friend, form=form), 400 if form.is_submitted() else 200
    if (form.confirm.data or "").strip() != str(friend_id):
        form.confirm.errors = [gettext("Type %(number)s to confirm.", number=friend_id)]
        return render_template("privacy/erase.html", friend=friend, form=form), 400
    with unit_of_work():
        privacy.erase_friend(db, friend_id=friend_id, actor=current_actor())
    flash(gettext("The friend's personal data was erased."), "success")
    return redirect(url_for("friend.show", friend_id=friend_id))
