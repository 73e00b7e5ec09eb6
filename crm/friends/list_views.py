"""The friend list (友だち一覧): search, filters, keyset pages, bulk tagging with confirmation, CSV export."""

from __future__ import annotations

import csv
import io

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlmodel import Session
from wtforms import SelectField
from wtforms.fields import SelectChoice
from wtforms.validators import InputRequired

from crm.console.guard import current_actor, requires
from crm.csv_cells import safe_cell
from crm.db import get_engine, get_session
from crm.friends import pages as friend_pages
from crm.friends.filter_form import describe, filter_args, filter_form, tag_choices, tag_groups, to_filter
from crm.friends.pages import Cursor, count_cost, count_friends, friend_batches, friend_page, tags_of
from crm.friends.query import FilterError, check_filter
from crm.permissions import masks_personal_data, visible_name
from crm.staff.audit import record
from crm.tags.service import add_tag_to_many, remove_tag_from_many
from crm.timeutil import to_tokyo, utcnow

bp = Blueprint("friends", __name__, url_prefix="/friends")

COUNT_CAP = 1_000
COUNT_BUDGET_ROWS = 30_000  # a capped count expected to read more rows than this is left to the "count" page
FILTER_ERRORS = {
    "unknown_tag": _l("A chosen tag no longer exists."),
    "too_many_tags": _l("Choose at most 20 tags for each tag condition."),
    "search_too_long": _l("Search for at most 100 characters."),
    "bad_status": _l("Choose a status from the list."),
    "bad_days": _l("Enter a number of days between 0 and 36500."),
    "bad_cursor": _l("The page link is damaged; showing the first page."),
}
BULK_ACTIONS = {"add": _l("Add tag"), "remove": _l("Remove tag")}


class BulkForm(FlaskForm):
    """Which tag to add to or remove from every friend in the filtered list."""

    action = SelectField(
        _l("Action"),
        validators=[InputRequired()],
        choices=[SelectChoice(key, label) for key, label in BULK_ACTIONS.items()],
    )
    tag = SelectField(_l("Tag"), coerce=int, validators=[InputRequired()], choices=[])


def _bulk_form(db, **kwargs) -> BulkForm:
    form = BulkForm(**kwargs)
    form.tag.choices = tag_choices(db)
    return form


def _parse(db):
    """The filter form and its FriendFilter (None with errors on the form when the query string is wrong)."""
    form = filter_form(db)
    if not form.validate():
        return form, None
    if form.q.data and masks_personal_data(current_user.role):  # a name search would reveal names
        form.q.errors.append(_("Searching by name is not available to your role."))
        return form, None
    flt = to_filter(form)
    try:
        check_filter(db, flt)
    except FilterError as error:
        form.q.errors.append(FILTER_ERRORS.get(error.code, error.detail))
        return form, None
    return form, flt


def _cursor(text: str | None):
    try:
        return Cursor.decode(text) if text else None
    except FilterError:
        flash(FILTER_ERRORS["bad_cursor"], "error")
        return None


@bp.get("")
@requires("friends.view")
def index():
    """Friends matching the filters in the query string, one keyset page at a time."""
    db = get_session()
    form, flt = _parse(db)
    if flt is None:
        return render_template(
            "friends/list.html",
            form=form,
            rows=[],
            page=None,
            count=None,
            args=filter_args(),
            bulk_form=None,
            tag_groups=tag_groups(form.tag_all.choices),
        ), 400
    now, sort = utcnow(), form.sort.data or friend_pages.DEFAULT_SORT
    page = friend_page(db, flt, now=now, sort=sort, after=_cursor(form.after.data), before=_cursor(form.before.data))
    count = None
    if count_cost(db, flt, now=now, cap=COUNT_CAP) <= COUNT_BUDGET_ROWS:
        count = count_friends(db, flt, now=now, cap=COUNT_CAP)
    rows = _rows(db, page.friends)
    _audit_bulk_view(db, rows)
    return render_template(
        "friends/list.html",
        form=form,
        rows=rows,
        page=page,
        count=count,
        count_cap=COUNT_CAP,
        args=filter_args(),
        bulk_form=BulkForm(),
        tag_groups=tag_groups(form.tag_all.choices),
    )


def _audit_bulk_view(db, rows: list[dict]) -> None:
    """A page of names and pictures is a bulk view of personal data: record who saw which filter."""
    if rows and not masks_personal_data(current_user.role):
        record(
            db,
            actor=current_actor(),
            action="friends.list_viewed",
            target_type="friend_list",
            after={"filter": filter_args(), "rows": len(rows)},
        )
        db.commit()


def _rows(db, friends) -> list[dict]:
    """What each table row shows; names masked and pictures left out for roles without personal data."""
    masked = masks_personal_data(current_user.role)
    tags = tags_of(db, [friend.id for friend in friends])
    linked = "friend.show" in current_app.view_functions
    return [
        {
            "friend": friend,
            "name": visible_name(friend, current_user.role),
            "picture": None if masked else friend.picture_url,
            "tags": tags.get(friend.id, []),
            "followed": _shown_time(friend.last_followed_at),
            "interaction": _shown_time(friend.last_interaction_at),
            "url": url_for("friend.show", friend_id=friend.id) if linked else None,
        }
        for friend in friends
    ]


def _shown_time(value) -> str:
    """Asia/Tokyo time as the |tokyo filter shows it (formatted directly: 100 Babel calls cost ~5 ms a page)."""
    return "—" if value is None else to_tokyo(value).strftime("%Y/%m/%d %H:%M")


@bp.get("/count")
@requires("friends.view")
def count():
    """The exact number of friends matching the filters (may read every friend)."""
    db = get_session()
    form, flt = _parse(db)
    if flt is None:
        return redirect(url_for("friends.index", **filter_args()))
    total = count_friends(db, flt, now=utcnow())
    return render_template("friends/count.html", total=total, summary=describe(form), args=filter_args())


@bp.route("/bulk", methods=["GET", "POST"])
@requires("friends.bulk")
def bulk():
    """Confirm (GET), then add or remove a tag on every friend matching the filters (POST, CSRF-checked)."""
    db = get_session()
    form, flt = _parse(db)
    posted = request.method == "POST"
    choice = _bulk_form(db) if posted else _bulk_form(db, formdata=request.args, meta={"csrf": False})
    if flt is None or not choice.validate():
        flash(_("Fix the filters and choose an action and a tag."), "error")
        return redirect(url_for("friends.index", **filter_args()))
    if posted:
        return _apply_bulk(db, flt, choice)
    confirm = _bulk_form(db, data={"action": choice.action.data, "tag": choice.tag.data})
    tag = next((c.label for c in choice.tag.choices if c.value == str(choice.tag.data)), "")
    return render_template(
        "friends/bulk_confirm.html",
        form=confirm,
        total=count_friends(db, flt, now=utcnow()),
        summary=describe(form),
        action=choice.action.data,
        tag=tag,
        args=filter_args(),
    )


def _apply_bulk(db, flt, bulk_form: BulkForm):
    """Tag or untag the matching friends 1,000 ids at a time, committing each batch; one audit entry."""
    now, actor, tag_id, adding = utcnow(), current_actor(), bulk_form.tag.data, bulk_form.action.data == "add"
    matched = changed = 0
    for ids in friend_pages.id_batches(db, flt, now=now):
        matched += len(ids)
        changed += (
            add_tag_to_many(db, friend_ids=ids, tag_id=tag_id, actor=actor)
            if adding
            else remove_tag_from_many(db, friend_ids=ids, tag_id=tag_id)
        )
        db.commit()  # one transaction per batch: SQLite's single write lock is never held for long
    record(
        db,
        actor=actor,
        action="friends.bulk_tag_added" if adding else "friends.bulk_tag_removed",
        target_type="tag",
        target_id=tag_id,
        after={"filter": flt.snapshot(), "tag_id": tag_id, "matched": matched, "changed": changed},
    )
    db.commit()
    message = (
        _("Tag added to %(changed)d of %(matched)d friends.", changed=changed, matched=matched)
        if adding
        else _("Tag removed from %(changed)d of %(matched)d friends.", changed=changed, matched=matched)
    )
    flash(message, "success")
    return redirect(url_for("friends.index", **filter_args()))


def _time(value) -> str:
    return "" if value is None else to_tokyo(value).strftime("%Y-%m-%d %H:%M:%S")


@bp.get("/export.csv")
@requires("friends.export")
def export():
    """The filtered friends as CSV (UTF-8 with BOM for Excel), streamed in keyset batches and audited."""
    db = get_session()
    form, flt = _parse(db)
    if flt is None:
        flash(_("Fix the filters before exporting."), "error")
        return redirect(url_for("friends.index", **filter_args()))
    now = utcnow()
    rows = count_friends(db, flt, now=now)
    record(
        db,
        actor=current_actor(),
        action="friends.exported",
        target_type="friend_list",
        after={"filter": flt.snapshot(), "rows": rows},
    )
    db.commit()
    name = f"friends-{to_tokyo(now):%Y%m%d-%H%M}.csv"
    return Response(
        stream_with_context(_csv(get_engine(current_app), flt, now, current_user.role)),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _csv(engine, flt, now, role: str):
    """Yield the CSV text batch by batch (names masked for roles without personal data).

    The stream reads through its own session, closed when the stream ends or the client goes away: the
    request's session is torn down when the view returns, before the body is sent.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        [
            _("Friend ID"),
            _("LINE user ID"),
            _("Display name"),
            _("Status"),
            _("Language"),
            _("First followed"),
            _("Last followed"),
            _("Blocked at"),
            _("Last interaction"),
            _("Tags"),
        ]
    )
    yield "\ufeff" + buffer.getvalue()
    with Session(engine) as db:
        yield from _csv_batches(db, flt, now, role, writer, buffer)


def _csv_batches(db, flt, now, role: str, writer, buffer):
    """Yield the CSV lines of the matching friends, one keyset batch at a time."""
    for friends in friend_batches(db, flt, now=now):
        buffer.seek(0)
        buffer.truncate()
        tags = tags_of(db, [friend.id for friend in friends])
        for f in friends:
            writer.writerow(
                [
                    f.id,
                    f.line_user_id,
                    safe_cell(visible_name(f, role)),
                    f.status,
                    f.language or "",
                    _time(f.first_followed_at),
                    _time(f.last_followed_at),
                    _time(f.blocked_at),
                    _time(f.last_interaction_at),
                    safe_cell(", ".join(tag.name for tag in tags.get(f.id, []))),
                ]
            )
        yield buffer.getvalue()
