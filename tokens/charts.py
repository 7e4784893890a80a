"""Geometry of the per-day bar charts (token page, API usage overview), drawn as inline SVG by
templates/tokens/usage_chart.html: no JavaScript, no chart library.

The SVG stretches to its box (preserveAspectRatio="none"), so it holds bars only; the scale
and the first and last day are HTML around it, legible at any width. Colours are CSS classes
(`tone`), so dark mode is the stylesheet's business.
"""

from dataclasses import dataclass

WIDTH = 300  # viewBox units: 30 columns of 10
HEIGHT = 100
BAR_SHARE = 0.7  # of a column; the rest is the gap between bars
NICE_STEPS = (1, 2, 2.5, 5, 10)


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
    day_label: str
    x: float
    width: float
    total: int
    cells: list  # (series name, value), for the table
    segments: list
    title: str


@dataclass(frozen=True)
class Chart:
    label: str
    series: list
    columns: list
    scale_max: int
    width: int = WIDTH
    height: int = HEIGHT

    @property
    def scale_half(self):
        half = self.scale_max / 2
        return int(half) if half == int(half) else half

    @property
    def first_day(self):
        return self.columns[0].day_label

    @property
    def last_day(self):
        return self.columns[-1].day_label

    @property
    def stacked(self):
        return len(self.series) > 1


def day_label(day):
    return f"{day.day} {day:%b}"


def nice_ceiling(value):
    """The smallest 1, 2, 2.5 or 5 times a power of ten that is at least value (1 for 0), so
    the scale's top and middle read as round numbers."""
    if value <= 0:
        return 1
    magnitude = 1
    while magnitude * 10 < value:
        magnitude *= 10
    for step in NICE_STEPS:
        if step * magnitude >= value:
            top = step * magnitude
            return int(top) if top == int(top) else top
    return 10 * magnitude  # unreachable: 10 * magnitude >= value


def stacked_bars(days, series, *, subject, extra=""):
    """One column per day with the series stacked bottom up, and the chart's accessible name:
    "<subject> per day, last N days: 1,204 in all, busiest 12 Nov with 210<extra>"."""
    totals = [sum(values[i] for values in (s.values for s in series)) for i in range(len(days))]
    scale = nice_ceiling(max(totals, default=0))
    column_width = WIDTH / len(days)
    bar_width = column_width * BAR_SHARE
    columns = []
    for i, day in enumerate(days):
        segments, top = [], HEIGHT
        for each in series:
            height = HEIGHT * each.values[i] / scale
            if height:
                top -= height
                segments.append(Segment(each.tone, round(top, 3), round(height, 3)))
        cells = [(each.name, each.values[i]) for each in series]
        columns.append(
            Column(
                day_label=day_label(day),
                x=round(i * column_width + (column_width - bar_width) / 2, 3),
                width=round(bar_width, 3),
                total=totals[i],
                cells=cells,
                segments=segments,
                title=_title(day, totals[i], cells, subject),
            )
        )
    return Chart(
        label=_label(days, totals, subject) + extra, series=series, columns=columns, scale_max=scale
    )


def _title(day, total, cells, subject):
    title = f"{day_label(day)}: {total:,} {subject.lower()}"
    if len(cells) > 1:
        title += " (" + ", ".join(f"{name} {value:,}" for name, value in cells if value) + ")"
    return title.replace(" ()", "")


def _label(days, totals, subject):
    label = f"{subject} per day, last {len(days)} days: "
    total = sum(totals)
    if not total:
        return label + "none"
    busiest = max(range(len(days)), key=lambda i: (totals[i], i))
    return label + f"{total:,} in all, busiest {day_label(days[busiest])} with {totals[busiest]:,}"
