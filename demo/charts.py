"""Bar charts drawn as plain HTML: one row per word, its bar's length proportional to its value.

The page draws exactly the numbers in the HTML it receives (each bar carries its value in ``data-p``),
so a chart can never show an earlier answer's heights: Gradio 6's `BarPlot` could (its Vega view kept
the old data when the values, sort and y axis changed in one update). Horizontal rows also keep every
word readable on a phone, and the "(other words)" mass, which would dwarf the words' bars, is stated
beside the chart instead of drawn.

Nothing here imports Gradio, so every chart is tested without a browser.
"""

from __future__ import annotations

import html
from typing import Callable, Iterable

from lm.core.distribution import OTHER


def percent(p: float) -> str:
    """A probability as the chips print it (one decimal), with more digits when that would read 0.0%.

    Example:
        >>> percent(0.6296), percent(0.00042), percent(0.0)
        ('63.0%', '0.042%', '0.0%')
    """
    return f"{p:.1%}" if p >= 0.001 or p == 0 else f"{100 * p:.2g}%"


def bar_chart(
    rows: Iterable[tuple[str, float]],
    title: str,
    top: float | None = None,
    value: Callable[[float], str] = percent,
) -> str:
    """A chart of `rows` (label, value), in their order, bars scaled so `top` (default: the largest value
    shown) fills the track; an `OTHER` row is stated under the bars, not drawn. `value` writes a number.

    Example:
        >>> page = bar_chart([("great", 0.6), ("good", 0.15), (OTHER, 0.25)], "p(x | z)")
        >>> 'data-word="good" data-p="0.15" style="width: 25.00%"' in page, "(other words)</b>: 25.0%" in page
        (True, True)
    """
    rows = list(rows)
    drawn = [(label, float(p)) for label, p in rows if label != OTHER]
    rest = [float(p) for label, p in rows if label == OTHER and p > 1e-12]
    scale = top if top else max((p for _, p in drawn), default=0.0)
    lines = [f"<div class='word-chart'><p class='chart-title'>{html.escape(title)}</p>"]
    if not drawn:
        lines.append("<p class='chart-empty'>nothing to draw yet</p>")
    for label, p in drawn:
        width = 0.0 if scale <= 0 else min(100.0, 100.0 * p / scale)
        shown_label = html.escape(label)
        lines.append(
            f"<div class='bar-row' title='{shown_label}: {p:.6g}'><span class='bar-word'>{shown_label}</span>"
            f"<span class='bar-track'><span class='bar' data-word=\"{shown_label}\" data-p=\"{p!r}\" "
            f"style=\"width: {width:.2f}%\"></span></span><span class='bar-value'>{value(p)}</span></div>"
        )
    if rest:
        lines.append(
            f'<p class=\'chart-rest\' data-word="{OTHER}" data-p="{rest[0]!r}"><b>{OTHER}</b>: {value(rest[0])}'
            " of the mass, every word not drawn (not to scale, so the words' shape shows)</p>"
        )
    lines.append("</div>")
    return "".join(lines)


def empty_chart(title: str) -> str:
    """A chart with its title and no bars yet."""
    return bar_chart([], title)


def words_top(*row_lists: list[tuple[str, float]]) -> float | None:
    """The largest value among the words (not `OTHER`) of several charts: one scale for charts compared.

    Example:
        >>> words_top([("a", 0.2), (OTHER, 0.7)], [("a", 0.3)])
        0.3
    """
    values = [float(p) for rows in row_lists for label, p in rows if label != OTHER]
    return max(values) if values else None
