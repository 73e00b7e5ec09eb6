"""Intervals against published values (Newcombe 1998, Statistics in Medicine 17:873-890, tables I and II)."""

import pytest

from crm.statistics import MIN_GROUP, compare, rate, wilson

pytestmark = pytest.mark.db_agnostic


def test_wilson_interval_matches_the_published_values():
    assert wilson(81, 263) == pytest.approx((0.2553, 0.3662), abs=5e-5)
    assert wilson(0, 20) == pytest.approx((0.0, 0.1611), abs=5e-5)
    assert wilson(0, 0) is None


def test_difference_interval_matches_newcombe_method_10():
    comparison = compare(56, 70, 48, 80)
    assert comparison.difference == pytest.approx(20.0)
    assert comparison.interval == pytest.approx((5.24, 33.39), abs=5e-3)
    assert comparison.significant and comparison.enough and comparison.friends == 150
    tiny = compare(5, 56, 0, 29)  # method 10, example (f): 0.0891, -0.0381 to 0.1926
    assert tiny.interval == pytest.approx((-3.81, 19.26), abs=5e-3)
    assert not tiny.significant


def test_small_groups_are_flagged_and_empty_ones_have_no_rate():
    assert not compare(3, MIN_GROUP - 1, 1, 100).enough
    assert compare(3, MIN_GROUP, 1, MIN_GROUP).enough
    empty = compare(0, 0, 1, 40)
    assert (empty.difference, empty.interval, empty.treated.percent) == (None, None, None)
    assert rate(1, 4) == 25.0 and rate(1, 0) is None
