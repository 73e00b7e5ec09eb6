"""How texts meet keywords: the normalisation table, the match modes, regular expressions that cannot run away,
hours across midnight in Japan time, and matching cost with many rules."""

import time
from datetime import UTC, datetime

import pytest

from crm.auto_replies.errors import AutoReplyError
from crm.auto_replies.hours import is_active, minute_of
from crm.auto_replies.matching import KeywordIndex
from crm.auto_replies.models import MatchMode
from crm.auto_replies.normalise import normalise
from crm.auto_replies.patterns import compile_pattern

pytestmark = pytest.mark.db_agnostic


@pytest.mark.parametrize(
    ("text", "spaces_kept", "spaces_ignored"),
    [
        ("ＡＢＣ１２３", "abc123", "abc123"),  # full-width letters and digits
        ("ｶﾀｶﾅ", "かたかな", "かたかな"),  # half-width kana, then katakana to hiragana
        ("ヨヤク", "よやく", "よやく"),
        ("Hello WORLD", "hello world", "helloworld"),  # case
        ("営業　時間", "営業 時間", "営業時間"),  # the ideographic space
        ("  営業時間  ", "営業時間", "営業時間"),  # surrounding spaces always go
        ("❤️", "❤", "❤"),  # the emoji variation selector
        ("😀 OK", "😀 ok", "😀ok"),  # emoji stay
        ("ｳﾞｧ", "ゔぁ", "ゔぁ"),  # a voiced half-width kana becomes one character
        ("Straße", "strasse", "strasse"),  # case-folding, not just lower-casing
        ("", "", ""),
    ],
)
def test_the_normalisation_table(text, spaces_kept, spaces_ignored):
    assert normalise(text) == spaces_kept
    assert normalise(text, ignore_spaces=True) == spaces_ignored


def matches(mode, keywords, text, *, ignore_spaces=False) -> bool:
    index = KeywordIndex()
    index.add(0, mode, keywords, ignore_spaces=ignore_spaces)
    return index.compile().owners(text) == {0}


@pytest.mark.parametrize(
    ("mode", "keywords", "text", "ignore_spaces", "expected"),
    [
        (MatchMode.CONTAINS, ["営業時間"], "営業時間は何時ですか？", False, True),
        (MatchMode.CONTAINS, ["営業時間"], "営業 時間は？", False, False),
        (MatchMode.CONTAINS, ["営業時間"], "営業 時間は？", True, True),
        (MatchMode.CONTAINS, ["クーポン"], "くーぽんありますか", False, True),
        (MatchMode.EXACT, ["予約"], "予約", False, True),
        (MatchMode.EXACT, ["予約"], "予約したい", False, False),
        (MatchMode.EXACT, ["ABC"], "ａｂｃ", False, True),
        (MatchMode.STARTS_WITH, ["予約"], "予約したい", False, True),
        (MatchMode.STARTS_WITH, ["予約"], "明日予約", False, False),
        (MatchMode.REGEX, [r"^\d{3}-?\d{4}$"], "１２３-４５６７", False, True),
        (MatchMode.REGEX, [r"営業.*何時"], "営業は何時から", False, True),
        (MatchMode.REGEX, ["menu"], "MENU please", False, True),
    ],
)
def test_match_modes(mode, keywords, text, ignore_spaces, expected):
    assert matches(mode, keywords, text, ignore_spaces=ignore_spaces) is expected


@pytest.mark.parametrize("pattern", [r"(a)\1", r"(?=a)b", r"(?<!x)y", "(" * 300])
def test_patterns_that_need_backtracking_are_refused_when_saved(pattern):
    with pytest.raises(AutoReplyError) as refused:
        compile_pattern(pattern)
    assert refused.value.field == "keywords"


def test_a_pattern_that_would_backtrack_forever_elsewhere_runs_in_linear_time():
    pattern = compile_pattern(r"(a+)+$")  # catastrophic for a backtracking engine on "aaa…b"
    text = "a" * 100_000 + "b"
    started = time.perf_counter()
    assert pattern.search(text) is None
    assert time.perf_counter() - started < 0.5


def at(year, month, day, hour, minute=0) -> datetime:
    """A Japan time as UTC."""
    return datetime(year, month, day, hour - 9 if hour >= 9 else hour + 15, minute, tzinfo=UTC).replace(
        day=day if hour >= 9 else day - 1
    )


FRIDAY_NIGHT = dict(weekdays="4", start_minute=22 * 60, end_minute=2 * 60)  # Friday 22:00–02:00 Japan time


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        (at(2026, 12, 11, 21, 59), False),  # Friday 21:59
        (at(2026, 12, 11, 22, 0), True),  # Friday 22:00
        (at(2026, 12, 12, 1, 30), True),  # Saturday 01:30 still belongs to Friday night
        (at(2026, 12, 12, 2, 0), False),  # Saturday 02:00: the window has closed
        (at(2026, 12, 12, 22, 30), False),  # Saturday night is not Friday night
        (at(2026, 12, 11, 1, 0), False),  # Friday 01:00 belongs to Thursday night
    ],
)
def test_a_window_across_midnight_belongs_to_the_weekday_it_started(when, expected):
    assert is_active(**FRIDAY_NIGHT, at=when) is expected


def test_a_window_within_the_day_and_weekdays_in_japan_time():
    weekdays = dict(weekdays="01234", start_minute=10 * 60, end_minute=19 * 60)  # Monday to Friday 10:00–19:00
    assert is_active(**weekdays, at=at(2026, 12, 7, 10, 0))  # Monday 10:00 in Tokyo is Monday 01:00 UTC
    assert not is_active(**weekdays, at=at(2026, 12, 7, 19, 0))
    assert not is_active(**weekdays, at=at(2026, 12, 7, 8, 59))  # 23:59 UTC on Sunday
    assert not is_active(**weekdays, at=at(2026, 12, 12, 12, 0))  # Saturday
    assert is_active(weekdays="5", start_minute=None, end_minute=None, at=at(2026, 12, 12, 3, 0))  # Saturday, all day


def test_times_are_read_as_hours_and_minutes():
    assert minute_of("9:05") == 545 and minute_of("24:00") == 1440
    for wrong in ("25:00", "10:60", "10", "ab:cd"):
        with pytest.raises(ValueError):
            minute_of(wrong)


def test_the_index_of_a_thousand_rules_finds_what_each_rule_alone_finds_in_well_under_a_millisecond():
    import json
    import random

    from bench.auto_reply import RULE_COLUMNS, _keyword_row, customer_texts

    rng = random.Random("index")
    rows = [dict(zip(RULE_COLUMNS, _keyword_row(rng, n, 1, None), strict=True)) for n in range(1, 1001)]
    together, alone = KeywordIndex(), []
    for number, row in enumerate(rows):
        keywords, mode, spaces = json.loads(row["keywords"]), row["match_mode"], row["ignore_spaces"]
        together.add(number, mode, keywords, ignore_spaces=spaces)
        single = KeywordIndex()
        single.add(number, mode, keywords, ignore_spaces=spaces)
        alone.append(single.compile())
    together.compile()
    texts = customer_texts(300, rules=1000) + ["営業時間5について教えてください", "予約12"]
    found = 0
    for text in texts:
        expected = {number for number, index in enumerate(alone) if index.owners(text)}
        assert together.owners(text) == expected, text
        found += bool(expected)
    assert found > 10
    started = time.perf_counter()
    for text in texts:
        together.owners(text)
    assert (time.perf_counter() - started) / len(texts) < 0.001
