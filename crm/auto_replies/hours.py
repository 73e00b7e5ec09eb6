"""When a rule is active: weekdays and an hour window in Japan time; a window whose end comes before its start
runs past midnight and belongs to the weekday it started on (Friday 22:00–02:00 covers Saturday 01:30)."""

from __future__ import annotations

from datetime import datetime

from crm.timeutil import to_tokyo

ALL_WEEKDAYS = "0123456"  # Monday 0 … Sunday 6
MINUTES_A_DAY = 24 * 60


def is_active(*, weekdays: str, start_minute: int | None, end_minute: int | None, at: datetime) -> bool:
    """Whether a rule with these days and hours is active at `at` (a UTC datetime)."""
    local = to_tokyo(at)
    weekday, minute = local.weekday(), local.hour * 60 + local.minute
    if start_minute is None or end_minute is None or start_minute == end_minute:
        return str(weekday) in weekdays
    if start_minute < end_minute:
        return str(weekday) in weekdays and start_minute <= minute < end_minute
    if minute >= start_minute:
        return str(weekday) in weekdays
    return minute < end_minute and str((weekday - 1) % 7) in weekdays


def minute_of(text: str) -> int:
    """Minutes after midnight of "HH:MM" (24:00 allowed as the end of the day); ValueError otherwise."""
    hours, _, minutes = text.strip().partition(":")
    if not (hours.isdigit() and minutes.isdigit() and len(minutes) == 2):
        raise ValueError(text)
    value = int(hours) * 60 + int(minutes)
    if int(minutes) > 59 or value > MINUTES_A_DAY:
        raise ValueError(text)
    return value


def hhmm(minute: int | None) -> str:
    """ "HH:MM" of minutes after midnight ("" for None)."""
    return "" if minute is None else f"{minute // 60:02d}:{minute % 60:02d}"
