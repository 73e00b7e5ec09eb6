"""The audit log for admins: newest first, filtered, paged by keyset. Entries are never edited or deleted here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from flask import Blueprint, abort, current_app, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import and_, or_
from sqlmodel import Session, select
from wtforms import DateField, SelectField, StringField
from wtforms.validators import Length, Optional

from crm.console.args import row_id_arg
from crm.console.guard import requires
from crm.db import get_session
from crm.staff import audit_words
from crm.staff.models import AuditEntry, Staff
from crm.timeutil import TOKYO

bp = Blueprint("audit", __name__, url_prefix="/audit")
PAGE_SIZE = 50


class AuditFilterForm(FlaskForm):
    """Filters read from the query string (a GET form changes nothing, so it needs no CSRF token)."""

    class Meta:
        csrf = False

    actor = StringField(_l("Who (part of the name or email)"), validators=[Optional(), Length(max=120)])
    action = SelectField(_l("Action"), validators=[Optional(), Length(max=60)], validate_choice=False)
    target_type = SelectField(_l("Target"), validators=[Optional(), Length(max=40)], validate_choice=False)
    target_id = StringField(_l("Target number"), validators=[Optional(), Length(max=64)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.action.choices = [("", _("All actions")), *audit_words.action_choices()]
        self.target_type.choices = [("", _("All targets")), *audit_words.target_choices()]

    date_from = DateField(_l("From (Japan time)"), validators=[Optional()])
    date_to = DateField(_l("To (Japan time)"), validators=[Optional()])


@dataclass(frozen=True)
class AuditFilter:
    """What to show: each set field narrows the entries."""

    actor: str | None = None
    action: str | None = None
    target_type: str | None = None
    target_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def tokyo_day_start(day: date) -> datetime:
    """Midnight of a Japanese calendar day, as an aware UTC datetime."""
    return datetime.combine(day, time(0), tzinfo=TOKYO).astimezone(UTC)


def filter_from_form(form: AuditFilterForm) -> AuditFilter:
    """Turn the filter form (Japanese dates, inclusive) into UTC bounds and exact values."""

    def text(field):
        return (field.data or "").strip() or None

    return AuditFilter(
        actor=text(form.actor),
        action=text(form.action),
        target_type=text(form.target_type),
        target_id=text(form.target_id),
        since=tokyo_day_start(form.date_from.data) if form.date_from.data else None,
        until=tokyo_day_start(form.date_to.data + timedelta(days=1)) if form.date_to.data else None,
    )


def _conditions(filters: AuditFilter) -> list:
    conditions = []
    if filters.actor:
        conditions.append(AuditEntry.actor.icontains(filters.actor, autoescape=True))
    if filters.action:
        conditions.append(AuditEntry.action.startswith(filters.action, autoescape=True))
    if filters.target_type:
        conditions.append(AuditEntry.target_type == filters.target_type)
    if filters.target_id:
        conditions.append(AuditEntry.target_id == filters.target_id)
    if filters.since:
        conditions.append(AuditEntry.at >= filters.since)
    if filters.until:
        conditions.append(AuditEntry.at < filters.until)
    return conditions


def audit_page(
    session: Session, *, filters: AuditFilter, before_id: int | None = None, limit: int = PAGE_SIZE
) -> tuple[list[AuditEntry], int | None]:
    """One page of entries, newest first, older than entry before_id; also the cursor of the next page."""
    query = select(AuditEntry).where(*_conditions(filters))
    cursor = session.get(AuditEntry, before_id) if before_id else None
    if cursor is not None:
        query = query.where(or_(AuditEntry.at < cursor.at, and_(AuditEntry.at == cursor.at, AuditEntry.id < cursor.id)))
    rows = session.exec(query.order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit + 1)).all()
    next_cursor = rows[limit - 1].id if len(rows) > limit else None
    return list(rows[:limit]), next_cursor


def _words(session: Session, entries: list[AuditEntry]) -> dict:
    """What the templates need to show entries in words: actors' names, targets' names and pages, helpers."""
    staff_ids = {entry.actor_staff_id for entry in entries if entry.actor_staff_id is not None}
    names = (
        dict(session.exec(select(Staff.id, Staff.display_name).where(Staff.id.in_(staff_ids))).all())
        if staff_ids
        else {}
    )
    targets = audit_words.resolve_targets(current_app, session, entries, current_user.role)
    return {
        "actor_of": lambda entry: audit_words.actor_words(entry.actor, names, entry.actor_staff_id),
        "target_of": lambda entry: targets.get((entry.target_type, entry.target_id)),
        "action_words": audit_words.action_words,
        "target_words": audit_words.target_words,
        "changes": audit_words.changes,
    }


@bp.get("")
@requires("audit.view")
def index():
    """Browse the audit log."""
    form = AuditFilterForm(formdata=request.args)
    form.validate()  # shows errors; a field that did not parse (a bad date) filters nothing
    filters = filter_from_form(form)
    session = get_session()
    entries, next_cursor = audit_page(session, filters=filters, before_id=row_id_arg("before"))
    query = {key: value for key, value in request.args.items() if key != "before" and value}
    return render_template(
        "audit/index.html",
        form=form,
        entries=entries,
        next_cursor=next_cursor,
        query=query,
        **_words(session, entries),
    )


@bp.get("/<int:entry_id>")
@requires("audit.view")
def entry(entry_id: int):
    """One audit entry in full."""
    session = get_session()
    found = session.get(AuditEntry, entry_id)
    if found is None:
        abort(404)
    return render_template("audit/entry.html", entry=found, **_words(session, [found]))
