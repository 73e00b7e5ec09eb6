"""Step timing in Asia/Tokyo: elapsed, day N at hh:mm, relative to a date field, send windows, and the words."""

from __future__ import annotations

from datetime import datetime

import pytest

from crm.scenarios.models import ScenarioStep, TimingKind, TriggerKind
from crm.scenarios.timing import SKIP_NO_DATE, SKIP_PAST, Window, describe_timing, in_window, step_due, window_of
from crm.timeutil import TOKYO

pytestmark = pytest.mark.db_agnostic  # pure functions


def jst(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TOKYO)


def step(kind=TimingKind.ELAPSED, **values) -> ScenarioStep:
    return ScenarioStep(scenario_id=1, position=1, timing_kind=kind, **values)


def due(spec, *, enrolled, previous=None, field=None, now=None, window=None):
    result = step_due(
        spec,
        enrolled_at=jst(enrolled),
        previous_at=jst(previous) if previous else None,
        field_value=field,
        now=jst(now or enrolled),
        window=window,
    )
    return (result.at.astimezone(TOKYO).replace(tzinfo=None).isoformat(" ") if result.at else None), result.skip


ELAPSED = [
    # (step, enrolled, previous, expected)
    (dict(delay_minutes=0), "2026-05-10 08:00", None, "2026-05-10 08:00:00"),
    (dict(delay_minutes=120), "2026-01-31 23:30", None, "2026-02-01 01:30:00"),
    (dict(delay_minutes=120, elapsed_from="previous"), "2026-12-01 00:00", "2026-12-31 23:00", "2027-01-01 01:00:00"),
    (dict(delay_minutes=1440, elapsed_from="previous"), "2024-02-01 00:00", "2024-02-28 12:00", "2024-02-29 12:00:00"),
    (dict(delay_minutes=1440, elapsed_from="previous"), "2025-02-27 10:00", None, "2025-02-28 10:00:00"),
    (dict(delay_minutes=3 * 1440), "2026-02-27 20:00", None, "2026-03-02 20:00:00"),
]


@pytest.mark.parametrize(("values", "enrolled", "previous", "expected"), ELAPSED)
def test_elapsed_counts_from_the_enrolment_or_the_previous_step(values, enrolled, previous, expected):
    assert due(step(**values), enrolled=enrolled, previous=previous) == (expected, None)


DAY_AT = [
    # day 0 before, at and after the hour (Lステップ: after it moves to the next day)
    (0, 600, "2026-05-10 09:59", "2026-05-10 10:00:00"),
    (0, 600, "2026-05-10 10:00", "2026-05-10 10:00:00"),
    (0, 600, "2026-05-10 10:01", "2026-05-11 10:00:00"),
    (0, 600, "2026-01-31 23:00", "2026-02-01 10:00:00"),
    (0, 600, "2026-12-31 23:59", "2027-01-01 10:00:00"),
    # later days keep their date whatever the enrolment hour
    (1, 600, "2026-05-10 23:00", "2026-05-11 10:00:00"),
    (3, 600, "2026-12-30 23:59", "2027-01-02 10:00:00"),
    (1, 540, "2024-02-28 18:00", "2024-02-29 09:00:00"),
    (1, 540, "2025-02-28 18:00", "2025-03-01 09:00:00"),
    # 00:30 in Tokyo is still the previous day in UTC: the day counts in Tokyo
    (1, 600, "2026-03-01 00:30", "2026-03-02 10:00:00"),
    (1, 0, "2026-04-30 12:00", "2026-05-01 00:00:00"),
]


@pytest.mark.parametrize(("offset", "at_minute", "enrolled", "expected"), DAY_AT)
def test_day_n_at_a_time_counts_tokyo_days_from_the_enrolment_day(offset, at_minute, enrolled, expected):
    spec = step(TimingKind.DAY_AT, day_offset=offset, at_minute=at_minute)
    assert due(spec, enrolled=enrolled) == (expected, None)


FIELD = [
    (-1, 1080, "2026-03-01", "2026-02-28 18:00:00"),
    (-1, 1080, "2024-03-01", "2024-02-29 18:00:00"),
    (1, 540, "2026-12-31", "2027-01-01 09:00:00"),
    (0, 600, "2026-06-15", "2026-06-15 10:00:00"),
    (-7, 600, "2027-01-03", "2026-12-27 10:00:00"),
]


@pytest.mark.parametrize(("offset", "at_minute", "value", "expected"), FIELD)
def test_relative_to_a_date_field(offset, at_minute, value, expected):
    spec = step(TimingKind.FIELD_RELATIVE, day_offset=offset, at_minute=at_minute, field_id=1)
    assert due(spec, enrolled="2024-01-01 12:00", now="2024-01-01 12:00", field=value) == (expected, None)


@pytest.mark.parametrize(
    ("value", "now", "skip"),
    [
        (None, "2026-01-01 12:00", SKIP_NO_DATE),
        ("", "2026-01-01 12:00", SKIP_NO_DATE),
        ("2026-02-30", "2026-01-01 12:00", SKIP_NO_DATE),
        ("next week", "2026-01-01 12:00", SKIP_NO_DATE),
        ("2026-03-01", "2026-02-28 18:01", SKIP_PAST),  # the day before at 18:00 has just passed
    ],
)
def test_a_missing_bad_or_passed_date_skips_the_step(value, now, skip):
    spec = step(TimingKind.FIELD_RELATIVE, day_offset=-1, at_minute=1080, field_id=1)
    assert due(spec, enrolled="2026-01-01 12:00", now=now, field=value) == (None, skip)


def test_a_field_date_due_exactly_now_is_not_skipped():
    spec = step(TimingKind.FIELD_RELATIVE, day_offset=-1, at_minute=1080, field_id=1)
    assert due(spec, enrolled="2026-01-01", now="2026-02-28 18:00", field="2026-03-01") == ("2026-02-28 18:00:00", None)


WINDOWS = [
    # (start, end, moment, expected)
    (540, 1260, "2026-05-10 12:00", "2026-05-10 12:00:00"),
    (540, 1260, "2026-05-10 09:00", "2026-05-10 09:00:00"),
    (540, 1260, "2026-05-10 08:59", "2026-05-10 09:00:00"),
    (540, 1260, "2026-05-10 21:00", "2026-05-11 09:00:00"),
    (540, 1260, "2026-01-31 23:30", "2026-02-01 09:00:00"),
    (540, 1260, "2026-12-31 22:00", "2027-01-01 09:00:00"),
    (540, 1260, "2024-02-28 22:00", "2024-02-29 09:00:00"),
    # across midnight: 22:00-02:00
    (1320, 120, "2026-05-10 23:00", "2026-05-10 23:00:00"),
    (1320, 120, "2026-05-11 01:59", "2026-05-11 01:59:00"),
    (1320, 120, "2026-05-11 02:00", "2026-05-11 22:00:00"),
    (1320, 120, "2026-05-11 12:00", "2026-05-11 22:00:00"),
]


@pytest.mark.parametrize(("start", "end", "moment", "expected"), WINDOWS)
def test_a_time_outside_the_send_window_moves_to_its_next_opening(start, end, moment, expected):
    moved = in_window(jst(moment), window_of(start, end))
    assert moved.astimezone(TOKYO).replace(tzinfo=None).isoformat(" ") == expected


def test_no_window_when_unset_or_all_day():
    assert window_of(None, 600) is None
    assert window_of(600, None) is None
    assert window_of(600, 600) is None
    assert window_of(0, 1440) is None
    assert window_of(540, 1260) == Window(540, 1260)


def test_every_timing_goes_through_the_window():
    window = window_of(540, 1260)
    spec = step(TimingKind.DAY_AT, day_offset=1, at_minute=1380)  # 23:00, outside 9:00-21:00
    assert due(spec, enrolled="2026-01-30 12:00", window=window) == ("2026-02-01 09:00:00", None)
    elapsed = step(delay_minutes=60)
    assert due(elapsed, enrolled="2026-08-31 20:30", window=window) == ("2026-09-01 09:00:00", None)


WORDS = [
    (dict(timing_kind="day_at", day_offset=3, at_minute=600), TriggerKind.FRIEND_ADDED, "友だち追加の3日後 10:00"),
    (dict(timing_kind=TimingKind.DAY_AT, day_offset=0, at_minute=545), TriggerKind.TAG_ADDED, "タグ付与の当日 9:05"),
    (dict(delay_minutes=120), TriggerKind.MANUAL, "登録から2時間後"),
    (dict(delay_minutes=0), TriggerKind.FRIEND_ADDED, "友だち追加の直後"),
    (dict(delay_minutes=1440, elapsed_from="previous"), TriggerKind.MANUAL, "前のステップの1日後"),
    (dict(delay_minutes=90, elapsed_from="previous"), TriggerKind.MANUAL, "前のステップの1時間30分後"),
    (dict(delay_minutes=30), TriggerKind.SURVEY_ANSWERED, "アンケート回答から30分後"),
    (dict(delay_minutes=0, elapsed_from="previous"), TriggerKind.MANUAL, "前のステップの直後"),
    (
        dict(timing_kind=TimingKind.FIELD_RELATIVE, day_offset=-1, at_minute=1080, field_id=1),
        TriggerKind.MANUAL,
        "予約日の1日前 18:00",
    ),
    (
        dict(timing_kind=TimingKind.FIELD_RELATIVE, day_offset=2, at_minute=600, field_id=1),
        TriggerKind.LINK_CLICKED,
        "予約日の2日後 10:00",
    ),
]


@pytest.mark.parametrize(("values", "trigger", "expected"), WORDS)
def test_timing_in_words(app, values, trigger, expected):
    spec = ScenarioStep(scenario_id=1, position=1, **values)
    with app.test_request_context():
        assert describe_timing(spec, trigger, "予約日") == expected
