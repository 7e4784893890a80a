"""Geometry of the per-day bar charts (token page, API usage overview), drawn as inline SVG by
templates/tokens/usage_chart.html: no chart library, and no JavaScript needed to read one.

The SVG stretches to its box (preserveAspectRatio="none"), so it holds bars and grid lines only;
the unit, the scale and the weekly dates are HTML laid out on the same heights and columns,
legible at any width. Colours are CSS classes (`tone`), so dark mode is the stylesheet's business.
"""

import math
from dataclasses import dataclass

WIDTH = 300  # viewBox units: 30 columns of 10
HEIGHT = 100
BAR_SHARE = 0.7  # of a column; the rest is the gap between bars
# Scale steps, times a power of ten; 2.5 only where it is whole (25, 250, …): a tick never
# reads 0.5. At most MAX_STEPS steps, so the top tick stays close above the busiest day.
NICE_STEPS = (1, 2, 2.5, 5)
MAX_STEPS = 5


@dataclass(frozen=True)
class Series:
    name: str
    tone: str  # CSS class giving its colour
    values: list  # one per day


@dataclass(frozen=True)
class Segment:
    tone: str
    y: float
    height: float


@dataclass(frozen=True)
class Column:
    day_label: str  # "Mon 3 Nov"
    tick: str  # its date under the chart on Mondays ("3 Nov"), else empty: one a week
    x: float  # the bar's
    width: float
    slot_x: float  # the whole column's, which a pointer or a finger hits
    slot_width: float
    total: int
    cells: list  # (series name, value), for the table
    segments: list
    title: str  # its accessible name: the day and its figures


@dataclass(frozen=True)
class Chart:
    subject: str  # what is counted: "Calls"
    label: str
    series: list
    columns: list
    scale: list  # the values of its ticks, 0 first, evenly spaced
    width: int = WIDTH
    height: int = HEIGHT

    @property
    def scale_max(self):
        return self.scale[-1]

    @property
    def scale_top_down(self):
        return self.scale[::-1]

    @property
    def grid(self):
        """The y (viewBox units) of the grid line of each tick above 0."""
        return [round(HEIGHT - HEIGHT * value / self.scale_max, 3) for value in self.scale[1:]]

    @property
    def day_ticks(self):
        return [column.tick for column in self.columns if column.tick]

    @property
    def empty(self):
        return not any(column.total for column in self.columns)

    @property
    def stacked(self):
        return len(self.series) > 1


def day_label(day):
    return f"{day.day} {day:%b}"


def long_day_label(day):
    return f"{day:%a} {day_label(day)}"


def scale_steps(busiest):
    """The scale's ticks for a busiest day: whole numbers a round step apart from 0 to at
    least busiest (0 and 1 for a chart without calls)."""
    magnitude = 1
    while True:
        for step in NICE_STEPS:
            size = step * magnitude
            if size != int(size):
                continue
            steps = max(1, math.ceil(busiest / size))
            if steps <= MAX_STEPS:
                return [int(size) * n for n in range(steps + 1)]
        magnitude *= 10


def weekly_tick(day):
    """The date under a day's column: Mondays only. A week apart, dates never crowd, even on a
    phone."""
    return day_label(day) if day.weekday() == 0 else ""


def stacked_bars(days, series, *, subject, extra=""):
    """One column per day with the series stacked bottom up, and the chart's accessible name:
    "<subject> per day (UTC), last N days: 1,204 in all, busiest 12 Nov with 210<extra>"."""
    totals = [sum(each.values[i] for each in series) for i in range(len(days))]
    scale = scale_steps(max(totals, default=0))
    top = scale[-1]
    column_width = WIDTH / len(days)
    bar_width = column_width * BAR_SHARE
    columns = []
    for i, day in enumerate(days):
        segments, bottom = [], HEIGHT
        for each in series:
            height = HEIGHT * each.values[i] / top
            if height:
                bottom -= height
                segments.append(Segment(each.tone, round(bottom, 3), round(height, 3)))
        cells = [(each.name, each.values[i]) for each in series]
        columns.append(
            Column(
                day_label=long_day_label(day),
                tick=weekly_tick(day),
                x=round(i * column_width + (column_width - bar_width) / 2, 3),
                width=round(bar_width, 3),
                slot_x=round(i * column_width, 3),
                slot_width=round(column_width, 3),
                total=totals[i],
                cells=cells,
                segments=segments,
                title=_title(day, totals[i], cells, subject),
            )
        )
    return Chart(
        subject=subject,
        label=_label(days, totals, subject) + extra,
        series=series,
        columns=columns,
        scale=scale,
    )


def _title(day, total, cells, subject):
    counted = subject.lower() if total != 1 else subject.lower().removesuffix("s")
    title = f"{long_day_label(day)}: {total:,} {counted}"
    if len(cells) > 1 and total:
        title += " (" + ", ".join(f"{name} {value:,}" for name, value in cells if value) + ")"
    return title


def _label(days, totals, subject):
    label = f"{subject} per day (UTC), last {len(days)} days: "
    total = sum(totals)
    if not total:
        return label + "none"
    busiest = max(range(len(days)), key=lambda i: (totals[i], i))
    return label + f"{total:,} in all, busiest {day_label(days[busiest])} with {totals[busiest]:,}"
