"""The friend list's filter form: read from the query string (a shareable URL), checked, turned into a FriendFilter."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from flask import request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlmodel import Session, select
from werkzeug.datastructures import MultiDict
from wtforms import DateField, HiddenField, IntegerField, SearchField, SelectField, SelectMultipleField
from wtforms.fields import SelectChoice
from wtforms.validators import Length, NumberRange, Optional

from crm.friends import attention
from crm.friends.models import FriendStatus
from crm.friends.pages import DEFAULT_SORT
from crm.friends.query import MAX_DAYS, MAX_SEARCH_CHARS, FriendFilter
from crm.tags.models import Tag, TagFolder
from crm.timeutil import TOKYO

FIRST_DATE, LAST_DATE = date(2000, 1, 1), date(2099, 12, 31)
PAGING_ARGS = ("after", "before")
FILTER_ARGS = (
    "q",
    "status",
    "tag_all",
    "tag_any",
    "tag_none",
    "followed_from",
    "followed_to",
    "interaction",
    "days",
    "interaction_from",
    "interaction_to",
    "attention",
    "sort",
)
STATUS_LABELS = {
    FriendStatus.FOLLOWING: _l("Following"),
    FriendStatus.BLOCKED: _l("Blocked"),
    FriendStatus.ERASED: _l("Erased"),
}
SORT_LABELS = {
    "followed_desc": _l("Followed, newest first"),
    "followed_asc": _l("Followed, oldest first"),
    "interaction_desc": _l("Last interaction, newest first"),
    "interaction_asc": _l("Last interaction, oldest first"),
}
INTERACTION_LABELS = {
    "within": _l("Within the last N days"),
    "older": _l("Not in the last N days"),
    "between": _l("Between dates"),
}


class FilterForm(FlaskForm):
    """Filters of the friend list (GET, no CSRF: it changes nothing)."""

    class Meta:
        csrf = False

    q = SearchField(_l("Name contains"), validators=[Optional(), Length(max=MAX_SEARCH_CHARS)])
    status = SelectField(
        _l("Status"),
        validators=[Optional()],
        choices=[SelectChoice("", _l("Any")), *(SelectChoice(key, label) for key, label in STATUS_LABELS.items())],
    )
    attention = SelectField(
        _l("Attention"),
        validators=[Optional()],
        choices=[
            SelectChoice("", _l("Any")),
            *(SelectChoice(state, _l(label)) for state, label in attention.LABELS.items()),
            SelectChoice(attention.CLEAR, _l(attention.CLEAR_LABEL)),
        ],
    )
    tag_all = SelectMultipleField(_l("Has all of these tags"), coerce=int, choices=[])
    tag_any = SelectMultipleField(_l("Has any of these tags"), coerce=int, choices=[])
    tag_none = SelectMultipleField(_l("Has none of these tags"), coerce=int, choices=[])
    followed_from = DateField(_l("Followed on or after"), validators=[Optional()])
    followed_to = DateField(_l("Followed on or before"), validators=[Optional()])
    interaction = SelectField(
        _l("Last interaction"),
        validators=[Optional()],
        choices=[
            SelectChoice("", _l("Any time")),
            *(SelectChoice(k, label) for k, label in INTERACTION_LABELS.items()),
        ],
    )
    days = IntegerField(_l("Days"), validators=[Optional(), NumberRange(min=0, max=MAX_DAYS)])
    interaction_from = DateField(_l("Interaction on or after"), validators=[Optional()])
    interaction_to = DateField(_l("Interaction on or before"), validators=[Optional()])
    sort = SelectField(
        _l("Sort"),
        validators=[Optional()],
        default=DEFAULT_SORT,
        choices=[SelectChoice(key, label) for key, label in SORT_LABELS.items()],
    )
    after = HiddenField()
    before = HiddenField()

    def validate(self, extra_validators=None) -> bool:
        """Field checks, then the checks that span fields (days needed, dates in order and in range)."""
        valid = super().validate(extra_validators)
        for field in (self.followed_from, self.followed_to, self.interaction_from, self.interaction_to):
            if field.data and not FIRST_DATE <= field.data <= LAST_DATE:
                field.errors.append(_("Enter a date between %(first)s and %(last)s.", first=FIRST_DATE, last=LAST_DATE))
        if self.interaction.data in ("within", "older") and self.days.data is None and not self.days.errors:
            self.days.errors.append(_("Enter a number of days."))
        for start, end in ((self.followed_from, self.followed_to), (self.interaction_from, self.interaction_to)):
            if start.data and end.data and start.data > end.data:
                end.errors.append(_("This date is before the start date."))
        return valid and not any(field.errors for field in self)


def tag_choices(session: Session) -> list[SelectChoice]:
    """Every tag as a choice, grouped by folder."""
    rows = session.exec(
        select(Tag.id, Tag.name, TagFolder.name)
        .join(TagFolder, isouter=True)
        .order_by(TagFolder.position, TagFolder.name, Tag.name)
    ).all()
    return [SelectChoice(str(tag_id), name, optgroup=folder or _("No folder")) for tag_id, name, folder in rows]


def tag_groups(choices: list[SelectChoice]) -> list[tuple[str, list[tuple[str, str]]]]:
    """Tag choices as (folder, [(value, label)]) in order, for the hand-rendered tag selects."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for choice in choices:
        groups.setdefault(choice.optgroup, []).append((choice.value, choice.label))
    return list(groups.items())


def filter_form(session: Session, args: MultiDict | None = None) -> FilterForm:
    """The filter form bound to the query string, with the tag choices loaded."""
    form = FilterForm(formdata=request.args if args is None else args)
    choices = tag_choices(session)
    for field in (form.tag_all, form.tag_any, form.tag_none):
        field.choices = choices
    return form


def _tokyo_start(day: date | None) -> datetime | None:
    return None if day is None else datetime.combine(day, time(0), tzinfo=TOKYO)


def _tokyo_end(day: date | None) -> datetime | None:
    return None if day is None else datetime.combine(day + timedelta(days=1), time(0), tzinfo=TOKYO)


def to_filter(form: FilterForm) -> FriendFilter:
    """The FriendFilter of a valid form; calendar dates are whole days in Asia/Tokyo."""
    mode, days = form.interaction.data, form.days.data
    return FriendFilter(
        search=(form.q.data or "").strip(),
        status=form.status.data or None,
        tags_all=tuple(form.tag_all.data or ()),
        tags_any=tuple(form.tag_any.data or ()),
        tags_none=tuple(form.tag_none.data or ()),
        followed_from=_tokyo_start(form.followed_from.data),
        followed_before=_tokyo_end(form.followed_to.data),
        interaction_within_days=days if mode == "within" else None,
        interaction_older_than_days=days if mode == "older" else None,
        interaction_from=_tokyo_start(form.interaction_from.data) if mode == "between" else None,
        interaction_before=_tokyo_end(form.interaction_to.data) if mode == "between" else None,
        attention=form.attention.data or None,
    )


def filter_args(args: MultiDict | None = None) -> dict[str, list[str]]:
    """The query-string filter without the paging cursor or bulk choices (for links and hidden fields)."""
    args = request.args if args is None else args
    return {
        key: [v for v in values if v != ""]
        for key, values in args.to_dict(flat=False).items()
        if key in FILTER_ARGS and any(v != "" for v in values)
    }


def describe(form: FilterForm) -> list[tuple[str, str]]:
    """The active filters of a valid form as (label, value) pairs, for the confirmation page."""
    names = {choice.value: choice.label for choice in form.tag_all.choices}
    mode = form.interaction.data
    skipped = {
        "sort",
        *PAGING_ARGS,
        *(("days",) if mode not in ("within", "older") else ()),
        *(("interaction_from", "interaction_to") if mode != "between" else ()),
    }
    found = []
    for field in form:
        if field.name in skipped or field.data in (None, "", []):
            continue
        if isinstance(field, SelectMultipleField):
            value = ", ".join(names.get(str(tag_id), str(tag_id)) for tag_id in field.data)
        elif isinstance(field, SelectField):
            value = next((str(c.label) for c in field.choices if c.value == field.data), field.data)
        else:
            value = str(field.data)
        found.append((str(field.label.text), value))
    return found
