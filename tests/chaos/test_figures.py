"""The bar a fault's run must pass (issue 9): each way of missing it is a failure, by name.

Pure: a :class:`Figures` made by hand, no processes. Guards against a run that prints "1 lost"
(or unseen, or stale) and still counts as passing.
"""

from __future__ import annotations

from tests.chaos.matrix import Figures


def _fig(**figures: object) -> Figures:
    base: dict[str, object] = {"alarms": 4, "leds_s": [0.5], "desks_s": [0.5]}
    return Figures("broker-kill", **{**base, **figures})  # type: ignore[arg-type]


def test_a_clean_run_passes() -> None:
    assert (_fig().failures(), _fig().ok) == ([], True)


def test_each_miss_fails_by_name() -> None:
    assert _fig(lost=1).failures() == ["1 lost"]
    assert _fig(doubled=2).failures() == ["2 doubled"]
    assert _fig(unshown=9, unseen=9).failures() == ["9 stored but shown on no desk"]
    # Raised and resolved while one desk was reconnecting: that desk never had to show it.
    assert _fig(unseen=2).failures() == []
    assert _fig(desks_s=[0.5, None]).failures() == ["desks did not converge within 10 s"]
    assert _fig(leds_s=[10.5]).failures() == ["LEDs did not converge within 10 s"]
    assert _fig(alarms=0).failures() == ["no alarm was pressed"]
    assert _fig(problems=["central saw a flood"]).failures() == ["central saw a flood"]
    assert not _fig(lost=1).ok
