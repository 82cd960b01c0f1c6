"""The test log's chart as inline SVG: tests done on time per month, per site (no script)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Bar:
    month: str
    on_time: int
    due: int
    x: float
    height_due: float
    height_on_time: float


@dataclass(frozen=True, slots=True)
class SiteChart:
    site: str
    bars: tuple[Bar, ...]
    width: float
    height: float
    summary: str  # the same figures in words, for screen readers and print


def on_time_chart(
    data: dict[str, dict[str, tuple[int, int]]], _: Callable[[str], str]
) -> list[SiteChart]:
    charts = []
    for site, months in sorted(data.items()):
        recent = sorted(months.items())[-12:]
        top = max((due for _, (_, due) in recent), default=1) or 1
        bars = tuple(
            Bar(
                month=month,
                on_time=on_time,
                due=due,
                x=40 + i * 48,
                height_due=120 * due / top,
                height_on_time=120 * on_time / top,
            )
            for i, (month, (on_time, due)) in enumerate(recent)
        )
        summary = "; ".join(
            _("{month}: {on_time} of {due} on time").format(
                month=b.month, on_time=b.on_time, due=b.due
            )
            for b in bars
        )
        charts.append(SiteChart(site, bars, 60 + 48 * len(bars), 170, summary))
    return charts
