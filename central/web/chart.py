"""The test log's chart as inline SVG: tests done on time per month, per site (no script).

Read at a glance, by anyone: a full-width figure (at least 640×320 units, text at 14), a
y-axis with whole-number ticks and its label, a month under each bar, the count over it, and
"on time" told by colour *and* a hatch pattern (colour-blind readers, grey print) with a legend
beside. The geometry is computed here, so the template only places what this module measured
and the tests can check the numbers.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

WIDTH_MIN = 640.0
HEIGHT = 320.0
LEFT = 64.0  # room for the y-axis ticks and its label
TOP = 44.0  # room for the legend
BOTTOM = 52.0  # room for the months and the x-axis label
RIGHT = 16.0
SLOT = 64.0  # one month
BAR = 44.0
PLOT_HEIGHT = HEIGHT - TOP - BOTTOM
MONTHS = 12


@dataclass(frozen=True, slots=True)
class Bar:
    month: str  # YYYY-MM
    label: str  # MM.YY
    on_time: int
    due: int
    x: float
    y_due: float
    height_due: float
    y_on_time: float
    height_on_time: float


@dataclass(frozen=True, slots=True)
class Tick:
    value: int
    y: float


@dataclass(frozen=True, slots=True)
class SiteChart:
    site: str  # the site's id (for element ids)
    name: str  # the site's name, as people know it
    bars: tuple[Bar, ...]
    ticks: tuple[Tick, ...]
    width: float
    height: float
    left: float
    top: float
    baseline: float
    summary: str  # the same figures in words, for screen readers and print


def ticks_for(top: int) -> tuple[int, ...]:
    """Whole-number ticks from 0 to at least ``top``, at most six, at a round step."""
    top = max(top, 1)
    step = next(s for s in (1, 2, 5, 10, 20, 25, 50, 100, 200, 500) if top / s <= 5)
    if top / step > 5:  # pragma: no cover - more than 2500 tests a month at one site
        step = math.ceil(top / 5)
    return tuple(range(0, math.ceil(top / step) * step + 1, step))


def on_time_chart(
    data: dict[str, dict[str, tuple[int, int]]],
    _: Callable[[str], str],
    names: dict[str, str] | None = None,
    months_shown: int = MONTHS,
) -> list[SiteChart]:
    """``data``: site → month (YYYY-MM) → (on time, due); the last ``months_shown`` months per
    site (twelve on the test log; the evidence page shows its period's, central.web.evidence)."""
    charts = []
    baseline = TOP + PLOT_HEIGHT
    for site, months in sorted(data.items()):
        recent = sorted(months.items())[-months_shown:]
        values = ticks_for(max((due for _, (_, due) in recent), default=1))
        scale = PLOT_HEIGHT / values[-1]
        bars = tuple(
            Bar(
                month=month,
                label=f"{month[5:7]}.{month[2:4]}",
                on_time=on_time,
                due=due,
                x=LEFT + 10 + i * SLOT,
                y_due=baseline - due * scale,
                height_due=due * scale,
                y_on_time=baseline - on_time * scale,
                height_on_time=on_time * scale,
            )
            for i, (month, (on_time, due)) in enumerate(recent)
        )
        summary = "; ".join(
            _("{month}: {on_time} of {due} on time").format(
                month=b.label, on_time=b.on_time, due=b.due
            )
            for b in bars
        )
        charts.append(
            SiteChart(
                site=site,
                name=(names or {}).get(site, site),
                bars=bars,
                ticks=tuple(Tick(v, baseline - v * scale) for v in values),
                width=max(WIDTH_MIN, LEFT + 10 + SLOT * len(bars) + RIGHT),
                height=HEIGHT,
                left=LEFT,
                top=TOP,
                baseline=baseline,
                summary=summary,
            )
        )
    return charts
