"""The friend page's edits that touch several things at once: all field values with one Save, a new tag
created and put on the friend in one step, the attention mark (one click), and the reading of the name."""

from __future__ import annotations

from flask import abort, flash, request
from flask_babel import gettext as _
from flask_login import current_user

from crm.console.guard import current_actor, requires
from crm.db import get_session, unit_of_work
from crm.fields.bulk_values import FieldErrors, save_values
from crm.fields.service import FieldValidationError
from crm.friends import attention, reading
from crm.friends import service as friend_service
from crm.friends.page_forms import ActionForm
from crm.friends.page_views import back_to, bp, friend_or_404, render_page
from crm.i18n import message_of
from crm.permissions import can
from crm.tags import admin as tag_admin
from crm.tags import service as tags

FIELD_PREFIX = "field-"


def _submitted_fields() -> dict[int, str]:
    """{field id: text} of the form's `field-<id>` inputs."""
    found = {}
    for name, value in request.form.items():
        suffix = name.removeprefix(FIELD_PREFIX)
        if name.startswith(FIELD_PREFIX) and suffix.isdigit():
            found[int(suffix)] = value[:1000]
    return found


@bp.post("/friends/<int:friend_id>/fields")
@requires("fields.set")
def save_fields(friend_id: int):
    """Save every field value the form changed, or none when one is refused (the typed values are kept)."""
    db = get_session()
    friend = friend_or_404(db, friend_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    submitted = _submitted_fields()
    with unit_of_work(FieldValidationError, friend_service.FriendErasedError) as work:
        friend_service.lock_living_friend(db, friend_id=friend_id)
        changed = save_values(db, friend_id=friend_id, raw=submitted, role=current_user.role, actor=current_actor())
    if work.failed:
        problems = work.error.problems if isinstance(work.error, FieldErrors) else {0: work.error}
        errors = {f"{FIELD_PREFIX}{field_id}": message_of(error) for field_id, error in problems.items()}
        typed = {f"{FIELD_PREFIX}{field_id}": text for field_id, text in submitted.items()}
        return render_page(friend, status=400, errors=errors, typed=typed)
    flash(
        _("Saved %(count)d items of friend information.", count=changed) if changed else _("Nothing changed."),
        "success",
    )
    return back_to(friend_id, "fields")


@bp.post("/friends/<int:friend_id>/tags/new")
@requires("friends.edit")
def create_and_add_tag(friend_id: int):
    """Create a tag by name and put it on the friend (staff who may manage tags)."""
    db = get_session()
    friend = friend_or_404(db, friend_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    if not can(current_user.role, "tags.manage"):
        abort(403)
    with unit_of_work(tags.TagError) as work:
        tag = tag_admin.create_tag(db, name=request.form.get("name", ""), actor=current_actor())
        tags.add_tag(db, friend_id=friend_id, tag_id=tag.id, actor=current_actor())
    if work.failed:
        return render_page(friend, status=400, errors={"tag": message_of(work.error)})
    flash(_("Created the tag “%(name)s” and added it.", name=tag.name), "success")
    return back_to(friend_id, "tags")


@bp.post("/friends/<int:friend_id>/attention")
@requires("friends.edit")
def set_attention(friend_id: int):
    """Set the attention mark (要対応 / 対応中 / 対応済) or clear it, in one click."""
    db = get_session()
    friend = friend_or_404(db, friend_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    with unit_of_work(attention.AttentionError, friend_service.FriendErasedError) as work:
        friend_service.lock_living_friend(db, friend_id=friend_id)
        state = attention.parse_state(request.form.get("attention"))
        changed = attention.set_attention(db, friend_ids=[friend_id], state=state, actor=current_actor())
    if work.failed:
        return render_page(friend, status=400, errors={"attention": message_of(work.error)})
    if changed:
        flash(_("Attention mark: %(state)s", state=_(attention.label_of(state))), "success")
    else:
        flash(_("Nothing changed."), "success")
    return back_to(friend_id, "attention")


@bp.post("/friends/<int:friend_id>/reading")
@requires("friends.edit")
def set_reading(friend_id: int):
    """Store the reading of the friend's name (ふりがな), which name search also looks in."""
    db = get_session()
    friend = friend_or_404(db, friend_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    with unit_of_work(reading.ReadingError, friend_service.FriendErasedError) as work:
        changed = reading.set_reading(db, friend_id=friend_id, text=request.form.get("reading"), actor=current_actor())
    if work.failed:
        return render_page(friend, status=400, errors={"reading": message_of(work.error)})
    flash(_("Saved the reading.") if changed else _("Nothing changed."), "success")
    return back_to(friend_id, "profile")
