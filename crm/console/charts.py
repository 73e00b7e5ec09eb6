"""Bar charts drawn on the server as SVG (no script, no CDN): the geometry of grouped bars over time (days or
hours), read without colour (each series has its own fill pattern and a legend in words) and with the figures as
a table beside; and shares (one bar per answer, with its count and percentage in words)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask_babel import lazy_gettext as _l

from crm.statistics import rate

WIDTH, HEIGHT = 640, 200  # the viewBox; the SVG scales to its box
MARGIN_LEFT, MARGIN_BOTTOM, MARGIN_TOP = 36, 22, 8


@dataclass(frozen=True)
class Series:
    """One set of bars: its name in words, its values (one per row) and its look (a CSS class: solid, striped)."""

    name: str
    values: list[int]
    style: str


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    style: str
    title: str  # the figure in words, shown on hover and read by screen readers


@dataclass(frozen=True)
class Tick:
    y: float
    label: str


@dataclass(frozen=True)
class AxisLabel:
    x: float
    label: str


@dataclass(frozen=True)
class BarChart:
    title: str
    rows: list[str]  # each slot's name in full (the table's first column, the bars' titles)
    row_heading: str  # the table's first header
    series: list[Series]
    bars: list[Bar]
    ticks: list[Tick]
    labels: list[AxisLabel]
    width: int = WIDTH
    height: int = HEIGHT


@dataclass(frozen=True)
class Share:
    """One answer's bar: its name, its count and its percentage of the total (None: no total)."""

    label: str
    count: int
    percent: float | None


@dataclass(frozen=True)
class ShareChart:
    title: str
    total: int
    shares: list[Share]


def nice_top(value: int) -> int:
    """The smallest 1, 2 or 5 times a power of ten at or above value (at least 1)."""
    top = 1
    while True:
        for step in (1, 2, 5):
            if top * step >= value:
                return top * step
        top *= 10


def day_label(day: date) -> str:
    return f"{day.month}/{day.day}"


def daily_bars(title: str, days: list[date], series: list[Series], *, label_every: int = 7) -> BarChart:
    """Bars for each day, the series side by side, scaled to the largest value; a date label every few days."""
    names = [day_label(day) for day in days]
    return slot_bars(title, names, names, series, row_heading=_l("Date"), label_every=label_every)


def slot_bars(
    title: str,
    rows: list[str],
    axis: list[str],
    series: list[Series],
    *,
    row_heading: str,
    label_every: int = 7,
) -> BarChart:
    """Bars for each slot of time (`rows` its full names, `axis` its short names under the bars), the series
    side by side, scaled to the largest value; an axis label every `label_every` slots, ending on the last."""
    top = nice_top(max((value for s in series for value in s.values), default=0))
    plot_width, plot_height = WIDTH - MARGIN_LEFT, HEIGHT - MARGIN_BOTTOM - MARGIN_TOP
    slot = plot_width / max(len(rows), 1)
    bar_width = slot * 0.8 / max(len(series), 1)
    bars = []
    for row_index, row in enumerate(rows):
        for series_index, one in enumerate(series):
            value = one.values[row_index]
            height = plot_height * value / top
            bars.append(
                Bar(
                    x=round(MARGIN_LEFT + row_index * slot + slot * 0.1 + series_index * bar_width, 2),
                    y=round(MARGIN_TOP + plot_height - height, 2),
                    width=round(bar_width, 2),
                    height=round(height, 2),
                    style=one.style,
                    title=f"{row} {one.name}: {value}",
                )
            )
    ticks = [Tick(round(MARGIN_TOP + plot_height * (1 - share), 2), str(round(top * share))) for share in (0, 0.5, 1)]
    last = len(rows) - 1
    labels = [
        AxisLabel(round(MARGIN_LEFT + index * slot + slot / 2, 2), name)
        for index, name in enumerate(axis)
        if (last - index) % label_every == 0
    ]
    return BarChart(title, rows, str(row_heading), series, bars, ticks, labels)


def shares(title: str, counts: list[tuple[str, int]], *, total: int | None = None) -> ShareChart:
    """One bar per (label, count), as a percentage of `total` (default: the sum of the counts; give the number
    of people asked when one person may count in several bars)."""
    total = sum(count for _label, count in counts) if total is None else total
    return ShareChart(title, total, [Share(label, count, rate(count, total)) for label, count in counts])
