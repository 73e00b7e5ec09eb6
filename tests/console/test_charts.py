"""Server-drawn bar charts: a readable top of the scale, bars scaled to it, and a date label every week
ending on the last day."""

from datetime import date, timedelta

import pytest

from crm.console.charts import HEIGHT, MARGIN_BOTTOM, MARGIN_TOP, Series, daily_bars, nice_top


@pytest.mark.parametrize(("value", "top"), [(0, 1), (1, 1), (2, 2), (3, 5), (7, 10), (10, 10), (11, 20), (480, 500)])
def test_the_scale_ends_on_one_two_or_five(value, top):
    assert nice_top(value) == top


def test_bars_are_scaled_to_the_scale_and_labelled_weekly():
    days = [date(2026, 11, 8) + timedelta(days=offset) for offset in range(30)]
    follows = [0] * 29 + [20]
    blocks = [5] + [0] * 29
    chart = daily_bars("友だち", days, [Series("友だち追加", follows, "solid"), Series("ブロック", blocks, "striped")])
    plot = HEIGHT - MARGIN_BOTTOM - MARGIN_TOP
    assert len(chart.bars) == 60
    last_follow, first_block = chart.bars[58], chart.bars[1]
    assert last_follow.height == plot and last_follow.y == MARGIN_TOP
    assert first_block.height == plot / 4 and first_block.style == "striped"
    assert chart.bars[2].height == 0
    assert last_follow.title == "12/7 友だち追加: 20"
    assert [label.label for label in chart.labels] == ["11/9", "11/16", "11/23", "11/30", "12/7"]
    assert [tick.label for tick in chart.ticks] == ["0", "10", "20"]
