"""Bulk tagging and attention marks from the friend list: the friends ticked on the page, or every friend
matching the filters.

GET shows the confirmation (how many, which tag); POST (CSRF-checked) applies it in batches of their own
transactions and writes one audit entry.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlmodel import select

from crm.console.guard import current_actor, requires
from crm.db import get_session, unit_of_work
from crm.friends import attention
from crm.friends import pages as friend_pages
from crm.friends.bulk_form import ALL_MATCHING, ATTENTION, bulk_form, selected_ids
from crm.friends.filter_form import describe, filter_args
from crm.friends.list_views import bp, parse_filters
from crm.friends.models import Friend, FriendStatus
from crm.friends.pages import count_friends
from crm.staff.audit import record
from crm.tags.service import add_tag_to_many, remove_tag_from_many
from crm.timeutil import utcnow


def _living(db, ids: list[int]) -> list[int]:
    """The ticked friends that exist and were not erased."""
    if not ids:
        return []
    query = select(Friend.id).where(Friend.id.in_(ids), Friend.status != FriendStatus.ERASED).order_by(Friend.id)
    return list(db.exec(query).all())


@bp.route("/bulk", methods=["GET", "POST"])
@requires("friends.bulk")
def bulk():
    """Confirm (GET), then add or remove a tag on the ticked friends or every match (POST, CSRF-checked)."""
    db = get_session()
    form, flt = parse_filters(db)
    posted = request.method == "POST"
    choice = bulk_form(db) if posted else bulk_form(db, formdata=request.args, meta={"csrf": False})
    every = choice.scope.data == ALL_MATCHING
    source = request.form if posted else request.args
    ticked = [] if every else _living(db, selected_ids(source.getlist("friend")))
    if flt is None or not choice.validate() or not (every or ticked):
        flash(_("Tick some friends (or choose every matching friend), an action and a tag."), "error")
        return redirect(url_for("friends.index", **filter_args()))
    marking = choice.action.data == ATTENTION
    if posted:
        return _apply_attention(db, flt, choice, ticked) if marking else _apply(db, flt, choice, ticked)
    confirm = bulk_form(
        db,
        data={
            "action": choice.action.data,
            "tag": choice.tag.data,
            "mark": choice.mark.data,
            "scope": choice.scope.data,
        },
    )
    if marking:
        tag = _(attention.label_of(attention.parse_state(choice.mark.data)))
    else:
        tag = next((c.label for c in choice.tag.choices if c.value == str(choice.tag.data)), "")
    return render_template(
        "friends/bulk_confirm.html",
        form=confirm,
        total=count_friends(db, flt, now=utcnow()) if every else len(ticked),
        every=every,
        ticked=ticked,
        summary=describe(form),
        action=choice.action.data,
        tag=tag,
        args=filter_args(),
    )


def _apply(db, flt, choice, ticked: list[int]):
    """Tag or untag 1,000 ids at a time, committing each batch; one audit entry."""
    now, actor, tag_id, adding = utcnow(), current_actor(), choice.tag.data, choice.action.data == "add"
    batches = [ticked] if ticked else friend_pages.id_batches(db, flt, now=now)
    matched = changed = 0
    for ids in batches:
        matched += len(ids)
        with unit_of_work():  # one transaction per batch: SQLite's single write lock is never held for long
            changed += (
                add_tag_to_many(db, friend_ids=ids, tag_id=tag_id, actor=actor)
                if adding
                else remove_tag_from_many(db, friend_ids=ids, tag_id=tag_id)
            )
    whom = {"friend_ids": ticked} if ticked else {"filter": flt.snapshot()}
    with unit_of_work():
        record(
            db,
            actor=actor,
            action="friends.bulk_tag_added" if adding else "friends.bulk_tag_removed",
            target_type="tag",
            target_id=tag_id,
            after={**whom, "tag_id": tag_id, "matched": matched, "changed": changed},
        )
    message = (
        _("Tag added to %(changed)d of %(matched)d friends.", changed=changed, matched=matched)
        if adding
        else _("Tag removed from %(changed)d of %(matched)d friends.", changed=changed, matched=matched)
    )
    flash(message, "success")
    return redirect(url_for("friends.index", **filter_args()))


def _apply_attention(db, flt, choice, ticked: list[int]):
    """Set (or clear) the attention mark 1,000 ids at a time, committing each batch; one audit entry, and each
    changed friend's history."""
    now, actor, state = utcnow(), current_actor(), attention.parse_state(choice.mark.data)
    batches = [ticked] if ticked else friend_pages.id_batches(db, flt, now=now)
    matched = changed = 0
    for ids in batches:
        matched += len(ids)
        with unit_of_work():
            changed += len(attention.set_attention(db, friend_ids=ids, state=state, actor=actor, audit_each=False))
    whom = {"friend_ids": ticked} if ticked else {"filter": flt.snapshot()}
    with unit_of_work():
        record(
            db,
            actor=actor,
            action="friends.bulk_attention",
            target_type="friend",
            target_id=None,
            after={**whom, "attention": state, "matched": matched, "changed": changed},
        )
    flash(_("Attention mark set on %(changed)d of %(matched)d friends.", changed=changed, matched=matched), "success")
    return redirect(url_for("friends.index", **filter_args()))
