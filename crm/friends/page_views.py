"""The friend page (個別ページ): profile, tags, notes, fields, conversation and the 1:1 reply box."""

from __future__ import annotations

from flask import Blueprint, Flask, abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlmodel import Session, select
from wtforms.fields import SelectChoice

from crm.chat import service as chat
from crm.chat.reply import send_reply, sent_notice
from crm.console.guard import current_actor, requires
from crm.db import get_session, unit_of_work
from crm.fields import service as fields
from crm.friends import messages, notes
from crm.friends import service as friend_service
from crm.friends.models import Friend, FriendStatus
from crm.friends.page_forms import ActionForm, NoteForm, ReplyForm, TagAddForm
from crm.i18n import message_of
from crm.line.client import LineClient
from crm.line.runtime import line_client
from crm.permissions import can, masks_personal_data, visible_name
from crm.staff.audit_words import TargetRef, numeric_ids
from crm.tags import service as tags
from crm.tags.models import Tag, TagFolder

bp = Blueprint("friend", __name__)
QUOTA_KEY = "crm_quota_cache"
QUOTA_TIMEOUT_SECONDS = 1.0
QUOTA_TTL_SECONDS = 60.0


def quota_cache(app: Flask) -> chat.QuotaCache:
    """The app's cached LINE quota, read with a short timeout so a slow LINE cannot hold the page."""
    cache = app.extensions.get(QUOTA_KEY)
    if cache is None:
        client = LineClient(
            api_base=app.config["LINE_API_BASE"],
            access_token=app.config["LINE_CHANNEL_ACCESS_TOKEN"],
            timeout=QUOTA_TIMEOUT_SECONDS,
        )
        cache = app.extensions[QUOTA_KEY] = chat.QuotaCache(client.get_quota, ttl=QUOTA_TTL_SECONDS)
    return cache


def friend_or_404(db: Session, friend_id: int) -> Friend:
    friend = db.get(Friend, friend_id)
    if friend is None:
        abort(404)
    return friend


def _tag_choices(db: Session, current: set[int]) -> list[SelectChoice]:
    """Existing tags the friend does not have yet, grouped by folder."""
    folders = {folder.id: folder.name for folder in db.exec(select(TagFolder))}
    rows = db.exec(select(Tag).order_by(Tag.folder_id, Tag.name))
    return [
        SelectChoice(tag.id, tag.name, optgroup=folders.get(tag.folder_id)) for tag in rows if tag.id not in current
    ]


def _with_key(form: ReplyForm) -> ReplyForm:
    """Keep the form's retry key (a resend must reuse it); give a fresh one if it is missing or bad."""
    try:
        chat.check_retry_key(form.retry_key.data)
    except chat.ChatError:
        form.retry_key.data = chat.new_retry_key()
    return form


def render_page(
    friend: Friend,
    *,
    status: int = 200,
    errors: dict | None = None,
    typed: dict | None = None,
    tag_form=None,
    note_form=None,
    reply_form=None,
):
    """Render the page; forms and typed values passed in keep what the staff member entered."""
    db = get_session()
    masked = masks_personal_data(current_user.role)
    current = set(tags.tag_ids_of(db, friend.id))
    tag_form = tag_form or TagAddForm(formdata=None)
    tag_form.tag_id.choices = _tag_choices(db, current)
    may_reply = can(current_user.role, "chat.send") and not masked
    picture = friend.picture_url if (friend.picture_url or "").startswith(("https://", "http://")) else None
    blocked = friend.status == FriendStatus.BLOCKED
    return render_template(
        "friends/show.html",
        friend=friend,
        masked=masked,
        picture=None if masked else picture,
        name=visible_name(friend, current_user.role),
        blocked=blocked,
        tags=db.exec(select(Tag).where(Tag.id.in_(current)).order_by(Tag.name)).all() if current else [],
        notes=notes.notes_for_friend(db, friend_id=friend.id),
        may_change=lambda note: notes.may_change(
            note, staff_id=current_user.id, edit_any=can(current_user.role, "notes.edit_any")
        ),
        field_rows=fields.values_for_friend(db, friend_id=friend.id),
        choices_of=fields.choices_of,
        hidden_field=lambda definition: fields.hidden_from(definition, current_user.role),
        conversation=messages.conversation(db, friend_id=friend.id),
        may_reply=may_reply,
        quota=quota_cache(current_app).get() if may_reply and not blocked else None,
        tag_form=tag_form,
        note_form=note_form or NoteForm(formdata=None),
        reply_form=_with_key(reply_form or ReplyForm(formdata=None)),
        errors=errors or {},
        typed=typed or {},
        list_url=url_for("friends.index") if "friends.index" in current_app.view_functions else None,
    ), status


def back_to(friend_id: int, anchor: str):
    return redirect(url_for("friend.show", friend_id=friend_id, _anchor=anchor))


@bp.get("/friends/<int:friend_id>")
@requires("friends.view")
def show(friend_id: int):
    """The friend page."""
    return render_page(friend_or_404(get_session(), friend_id))


@bp.post("/friends/<int:friend_id>/tags")
@requires("friends.edit")
def add_tag(friend_id: int):
    """Put an existing tag on the friend."""
    db = get_session()
    friend = friend_or_404(db, friend_id)
    form = TagAddForm()
    form.tag_id.choices = _tag_choices(db, set(tags.tag_ids_of(db, friend_id)))
    if not form.validate_on_submit():
        return render_page(friend, status=400, errors={"tag": _("Choose a tag from the list.")}, tag_form=form)
    with unit_of_work():
        tags.add_tag(db, friend_id=friend_id, tag_id=form.tag_id.data, actor=current_actor())
    return back_to(friend_id, "tags")


@bp.post("/friends/<int:friend_id>/tags/<int:tag_id>/remove")
@requires("friends.edit")
def remove_tag(friend_id: int, tag_id: int):
    """Take a tag off the friend."""
    db = get_session()
    friend_or_404(db, friend_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    with unit_of_work():
        tags.remove_tag(db, friend_id=friend_id, tag_id=tag_id, actor=current_actor())
    return back_to(friend_id, "tags")


@bp.post("/friends/<int:friend_id>/notes")
@requires("notes.write")
def add_note(friend_id: int):
    """Write a note on the friend."""
    db = get_session()
    friend = friend_or_404(db, friend_id)
    form = NoteForm()
    if not form.validate_on_submit():
        abort(400)
    with unit_of_work(notes.NoteError, friend_service.FriendErasedError) as work:
        friend_service.lock_living_friend(db, friend_id=friend_id)
        notes.create_note(db, friend_id=friend_id, body=form.body.data, actor=current_actor())
    if work.failed:
        return render_page(friend, status=400, errors={"note": message_of(work.error)}, note_form=form)
    return back_to(friend_id, "notes")


def _change_note(friend_id: int, note_id: int, change):
    """Run an edit or delete of a note; 403 when it is someone else's and the role may not edit any."""
    db = get_session()
    friend = friend_or_404(db, friend_id)
    form = NoteForm()
    if not form.validate_on_submit():
        abort(400)
    args = dict(
        note_id=note_id, friend_id=friend_id, actor=current_actor(), edit_any=can(current_user.role, "notes.edit_any")
    )
    with unit_of_work(notes.NoteError, friend_service.FriendErasedError) as work:
        friend_service.lock_living_friend(db, friend_id=friend_id)
        change(db, form.body.data, args)
    if isinstance(work.error, notes.NotePermissionError):
        abort(403)
    if work.failed:
        return render_page(
            friend,
            status=400,
            errors={f"note-{note_id}": message_of(work.error)},
            typed={f"note-{note_id}": form.body.data},
        )
    return back_to(friend_id, "notes")


@bp.post("/friends/<int:friend_id>/notes/<int:note_id>/edit")
@requires("notes.write")
def edit_note(friend_id: int, note_id: int):
    """Change a note's text."""
    return _change_note(friend_id, note_id, lambda db, body, args: notes.edit_note(db, body=body, **args))


@bp.post("/friends/<int:friend_id>/notes/<int:note_id>/delete")
@requires("notes.write")
def delete_note(friend_id: int, note_id: int):
    """Delete a note."""
    return _change_note(friend_id, note_id, lambda db, _body, args: notes.delete_note(db, **args))


@bp.post("/friends/<int:friend_id>/reply")
@requires("chat.send")
def reply(friend_id: int):
    """Push a text to the friend; the form's retry key makes a resent form deliver once."""
    db = get_session()
    friend = friend_or_404(db, friend_id)
    if masks_personal_data(current_user.role):
        abort(403)
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
        return render_page(friend, status=outcome.status, errors={"reply": outcome.error}, reply_form=form)
    flash(sent_notice(outcome), "success")
    return back_to(friend_id, "chat")


def audit_targets(session, ids: list[str], role: str | None) -> dict[str, TargetRef]:
    """Friends named in the audit log as this role may see them, linked to their pages."""
    numbers = numeric_ids(ids)
    friends = session.exec(select(Friend).where(Friend.id.in_(numbers))).all() if numbers else []
    return {
        str(friend.id): TargetRef(
            visible_name(friend, role) or _("(no name yet)"), url_for("friend.show", friend_id=friend.id)
        )
        for friend in friends
    }
