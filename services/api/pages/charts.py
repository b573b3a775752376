"""Bar charts as inline SVG, drawn on the server: no script, readable without CSS, with a table beside each.

A chart is rows of labelled bars (one bar per series in a row); :func:`bars` computes the geometry, the template
macro ``macros/charts.html`` draws it with ``role="img"``, a ``<title>`` and a ``<desc>``, and prints the same
numbers in a table for screen readers and for copying.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

ROW_HEIGHT, BAR_GAP, LABEL_WIDTH, PLOT_WIDTH = 18, 4, 220, 420
SERIES_CLASSES = ("s0", "s1", "s2")


@dataclass(frozen=True)
class Bar:
    series: str
    value: float
    x: float
    y: float
    width: float
    css: str


@dataclass(frozen=True)
class Row:
    label: str
    y: float
    bars: tuple[Bar, ...]


@dataclass(frozen=True)
class Chart:
    chart_id: str
    title: str
    unit: str
    series: tuple[str, ...]
    rows: tuple[Row, ...]
    width: int
    height: int
    label_width: int = LABEL_WIDTH

    @property
    def empty(self) -> bool:
        return not self.rows


def bars(chart_id: str, title: str, data: Sequence[tuple[str, Sequence[float | None]]], *,
         series: Sequence[str], unit: str = "") -> Chart:
    """A horizontal bar chart: ``data`` is ``(row label, one value per series)``; None draws no bar."""
    top = max((v for _, values in data for v in values if v is not None), default=0) or 1
    rows, y = [], 0.0
    per_row = len(series) * (ROW_HEIGHT + BAR_GAP) + 2 * BAR_GAP
    for label, values in data:
        drawn = []
        for index, value in enumerate(values):
            if value is None:
                continue
            drawn.append(Bar(series[index], value, LABEL_WIDTH, y + BAR_GAP + index * (ROW_HEIGHT + BAR_GAP),
                             max(PLOT_WIDTH * max(value, 0) / top, 1.0), SERIES_CLASSES[index % 3]))
        rows.append(Row(label, y, tuple(drawn)))
        y += per_row
    return Chart(chart_id, title, unit, tuple(series), tuple(rows), LABEL_WIDTH + PLOT_WIDTH + 80, int(y) + 4)
