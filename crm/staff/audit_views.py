"""The audit log for admins: newest first, filtered, paged by keyset. Entries are never edited or deleted here."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from flask import Blueprint, abort, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import and_, or_
from sqlmodel import Session, select
from wtforms import DateField, StringField
from wtforms.validators import Length, Optional

from crm.console.args import row_id_arg
from crm.console.guard import requires
from crm.db import get_session
from crm.staff.models import AuditEntry
from crm.timeutil import TOKYO

bp = Blueprint("audit", __name__, url_prefix="/audit")
PAGE_SIZE = 50


class AuditFilterForm(FlaskForm):
    """Filters read from the query string (a GET form changes nothing, so it needs no CSRF token)."""

    class Meta:
        csrf = False

    actor = StringField(_l("Who (part of the name or email)"), validators=[Optional(), Length(max=120)])
    action = StringField(_l("Action (or its start, e.g. tag.)"), validators=[Optional(), Length(max=60)])
    target_type = StringField(_l("Target type"), validators=[Optional(), Length(max=40)])
    target_id = StringField(_l("Target id"), validators=[Optional(), Length(max=64)])
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


def pretty_json(text: str | None) -> str:
    """Indent a stored JSON snapshot for reading (the template escapes it)."""
    if text is None:
        return ""
    try:
        return json.dumps(json.loads(text), ensure_ascii=False, indent=2, sort_keys=True)
    except ValueError:
        return text


@bp.get("")
@requires("audit.view")
def index():
    """Browse the audit log."""
    form = AuditFilterForm(formdata=request.args)
    form.validate()  # shows errors; a field that did not parse (a bad date) filters nothing
    filters = filter_from_form(form)
    entries, next_cursor = audit_page(get_session(), filters=filters, before_id=row_id_arg("before"))
    query = {key: value for key, value in request.args.items() if key != "before" and value}
    return render_template(
        "audit/index.html", form=form, entries=entries, next_cursor=next_cursor, query=query, pretty=pretty_json
    )


@bp.get("/<int:entry_id>")
@requires("audit.view")
def entry(entry_id: int):
    """One audit entry in full."""
    found = get_session().get(AuditEntry, entry_id)
    if found is None:
        abort(404)
    return render_template("audit/entry.html", entry=found, pretty=pretty_json)
