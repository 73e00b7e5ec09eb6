"""Bar charts drawn on the server as SVG (no script, no CDN): the geometry of grouped daily bars, read without
colour (each series has its own fill pattern and a legend in words) and with the figures as a table beside."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

WIDTH, HEIGHT = 640, 200  # the viewBox; the SVG scales to its box
MARGIN_LEFT, MARGIN_BOTTOM, MARGIN_TOP = 36, 22, 8


@dataclass(frozen=True)
class Series:
    """One set of bars: its name in words, its values (one per day) and its look (a CSS class: solid, striped)."""

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
class DayLabel:
    x: float
    label: str


@dataclass(frozen=True)
class BarChart:
    title: str
    days: list[date]
    series: list[Series]
    bars: list[Bar]
    ticks: list[Tick]
    labels: list[DayLabel]
    width: int = WIDTH
    height: int = HEIGHT


def nice_top(value: int) -> int:
    """The smallest 1, 2 or 5 times a power of ten at or above value (at least 1)."""
    top = 1
    while True:
        for step in (1, 2, 5):
            if top * step >= value:
                return top * step
        top *= 10


def daily_bars(title: str, days: list[date], series: list[Series], *, label_every: int = 7) -> BarChart:
    """Bars for each day, the series side by side, scaled to the largest value; a date label every few days."""
    top = nice_top(max((value for s in series for value in s.values), default=0))
    plot_width, plot_height = WIDTH - MARGIN_LEFT, HEIGHT - MARGIN_BOTTOM - MARGIN_TOP
    slot = plot_width / max(len(days), 1)
    bar_width = slot * 0.8 / max(len(series), 1)
    bars = []
    for day_index, day in enumerate(days):
        for series_index, one in enumerate(series):
            value = one.values[day_index]
            height = plot_height * value / top
            bars.append(
                Bar(
                    x=round(MARGIN_LEFT + day_index * slot + slot * 0.1 + series_index * bar_width, 2),
                    y=round(MARGIN_TOP + plot_height - height, 2),
                    width=round(bar_width, 2),
                    height=round(height, 2),
                    style=one.style,
                    title=f"{day.month}/{day.day} {one.name}: {value}",
                )
            )
    ticks = [Tick(round(MARGIN_TOP + plot_height * (1 - share), 2), str(round(top * share))) for share in (0, 0.5, 1)]
    last = len(days) - 1
    labels = [
        DayLabel(round(MARGIN_LEFT + index * slot + slot / 2, 2), f"{day.month}/{day.day}")
        for index, day in enumerate(days)
        if (last - index) % label_every == 0
    ]
    return BarChart(title, days, series, bars, ticks, labels)
