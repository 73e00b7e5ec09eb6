"""When a scenario step is due, and how to say it: pure functions, Asia/Tokyo calendar, times stored in UTC.

Day numbering (DAY_AT): day 0 is the calendar day (Asia/Tokyo) of the enrolment, day 1 the next one, and so on.
As in Lステップ, a step on day 0 whose hour has already passed when the friend enrols goes out at that hour on the
next day; later days keep their dates (a day-0 step moved to day 1 and a day-1 step at the same hour then share
that day, in step order).

FIELD_RELATIVE: `day_offset` days from the date (YYYY-MM-DD) in the friend's field, at `at_minute`. With no date,
an unreadable one, or a time that has already passed when the step is scheduled, the step is skipped (its send is
recorded as SKIPPED with the reason) and the scenario goes on to the next step.

Every due time then goes through the scenario's send window: a time outside it moves to the window's next opening.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from flask_babel import gettext as _
from flask_babel import ngettext

from crm.scenarios.models import TimingKind, TriggerKind
from crm.timeutil import TOKYO

MINUTES_PER_DAY = 24 * 60
SKIP_NO_DATE = "no_date"  # FIELD_RELATIVE: the friend has no readable date in the field
SKIP_PAST = "date_passed"  # FIELD_RELATIVE: the time was already past when the step came up


@dataclass(frozen=True)
class Window:
    """A send window in Asia/Tokyo, minutes after midnight; `start > end` crosses midnight (e.g. 22:00-02:00)."""

    start: int
    end: int

    def allows(self, minute: int) -> bool:
        if self.start < self.end:
            return self.start <= minute < self.end
        return minute >= self.start or minute < self.end


@dataclass(frozen=True)
class Due:
    """A step's due time (UTC), or why it is skipped (`at` None, `skip` set)."""

    at: datetime | None
    skip: str | None = None


def window_of(start: int | None, end: int | None) -> Window | None:
    """The scenario's send window, or None when it has none (unset, or start == end: all day)."""
    if start is None or end is None or start % MINUTES_PER_DAY == end % MINUTES_PER_DAY:
        return None
    return Window(start % MINUTES_PER_DAY, end % MINUTES_PER_DAY)


def in_window(moment: datetime, window: Window | None) -> datetime:
    """`moment` if the window allows it, else the window's next opening (UTC)."""
    if window is None:
        return moment
    local = moment.astimezone(TOKYO)
    if window.allows(local.hour * 60 + local.minute):
        return moment
    opening = _at(local.date(), window.start)
    if opening <= moment:
        opening = _at(local.date() + timedelta(days=1), window.start)
    return opening


def _at(day: date, minute: int) -> datetime:
    """`minute` minutes after midnight of `day` in Asia/Tokyo, as UTC (Japan has no daylight saving time)."""
    local = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=TOKYO)
    return local.astimezone(UTC)


def parse_date(value: str | None) -> date | None:
    """A field's stored date (YYYY-MM-DD), or None when missing or not a real date."""
    try:
        return date.fromisoformat(value.strip()) if value else None
    except ValueError:
        return None


def step_due(
    step,
    *,
    enrolled_at: datetime,
    previous_at: datetime | None,
    field_value: str | None,
    now: datetime,
    window: Window | None,
) -> Due:
    """When `step` is due for an enrolment made at `enrolled_at` whose previous step went at `previous_at`
    (None: this is the first step), the friend's value of the step's date field, decided at `now`."""
    at_minute = (step.at_minute or 0) % MINUTES_PER_DAY
    if step.timing_kind == TimingKind.DAY_AT:
        enrolled = enrolled_at.astimezone(TOKYO)
        day = enrolled.date() + timedelta(days=step.day_offset)
        moment = _at(day, at_minute)
        if step.day_offset == 0 and moment < enrolled_at:
            moment = _at(day + timedelta(days=1), at_minute)
    elif step.timing_kind == TimingKind.FIELD_RELATIVE:
        day = parse_date(field_value)
        if day is None:
            return Due(None, SKIP_NO_DATE)
        try:
            moment = _at(day + timedelta(days=step.day_offset), at_minute)
        except OverflowError:
            return Due(None, SKIP_NO_DATE)
        if moment < now:
            return Due(None, SKIP_PAST)
    else:
        start = previous_at if step.elapsed_from == "previous" and previous_at is not None else enrolled_at
        moment = start + timedelta(minutes=step.delay_minutes)
    return Due(in_window(moment, window))


def _clock(minute: int | None) -> str:
    minute = (minute or 0) % MINUTES_PER_DAY
    return f"{minute // 60}:{minute % 60:02d}"


def _duration(minutes: int) -> str:
    if minutes % MINUTES_PER_DAY == 0:
        return ngettext("%(num)d day", "%(num)d days", minutes // MINUTES_PER_DAY)
    if minutes % 60 == 0:
        return ngettext("%(num)d hour", "%(num)d hours", minutes // 60)
    if minutes > 60:
        return _("%(hours)d h %(minutes)d min", hours=minutes // 60, minutes=minutes % 60)
    return ngettext("%(num)d minute", "%(num)d minutes", minutes)


def _start_words(trigger_kind: str) -> str:
    return {
        TriggerKind.FRIEND_ADDED: _("the friend was added"),
        TriggerKind.TAG_ADDED: _("the tag was added"),
        TriggerKind.SURVEY_ANSWERED: _("the survey was answered"),
        TriggerKind.LINK_CLICKED: _("the link was clicked"),
    }.get(trigger_kind, _("the friend was enrolled"))


def _days_from(start: str, offset: int, clock: str) -> str:
    if offset == 0:
        return _("%(start)s, same day %(time)s", start=start, time=clock)
    if offset < 0:
        return _("%(start)s, %(days)d days before %(time)s", start=start, days=-offset, time=clock)
    return _("%(start)s, %(days)d days after %(time)s", start=start, days=offset, time=clock)


def describe_timing(step, trigger_kind: str, field_label: str | None) -> str:
    """The step's timing in the console's words, e.g. 「友だち追加の3日後 10:00」, 「登録から2時間後」,
    「前のステップの1日後」, 「予約日の1日前 18:00」."""
    if step.timing_kind == TimingKind.DAY_AT:
        return _days_from(_start_words(trigger_kind), step.day_offset, _clock(step.at_minute))
    if step.timing_kind == TimingKind.FIELD_RELATIVE:
        return _days_from(field_label or _("the date field"), step.day_offset, _clock(step.at_minute))
    previous = step.elapsed_from == "previous"
    if step.delay_minutes <= 0:
        if previous:
            return _("right after the previous step")
        return _("right after %(start)s", start=_start_words(trigger_kind))
    if previous:
        return _("%(duration)s after the previous step", duration=_duration(step.delay_minutes))
    return _("%(duration)s after %(start)s", duration=_duration(step.delay_minutes), start=_start_words(trigger_kind))
