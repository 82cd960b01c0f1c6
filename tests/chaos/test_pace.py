"""The harness's press pace against central's own flood rule (no processes: both are pure).

Regression: the fault matrix pressed each device ~0.7 times a second; central's flood rule
coalesced every alarm past its bucket, so alarms were stored but never shown on a desk and the
desks "did not converge" (issue 9's broker-kill run).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from central.core.flood import BURST, FloodGuard, FloodStarted
from tests.chaos.pace import MARGIN_BURST, Pace

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _shown(press_times: list[float]) -> list[bool]:
    guard = FloodGuard()
    return [guard.alarm("site", "rom-101", T0 + timedelta(seconds=t)).show for t in press_times]


def test_unpaced_presses_flood_central() -> None:
    """The old harness's rate (a new alarm every 1.4 s): from the 14th, none is shown."""
    times = [i * 1.4 for i in range(20)]
    assert _shown(times) == [True] * 13 + [False] * 7
    guard = FloodGuard()
    verdicts = [guard.alarm("site", "rom-101", T0 + timedelta(seconds=t)) for t in times]
    started = FloodStarted("site", "rom-101", T0 + timedelta(seconds=13 * 1.4))
    assert verdicts[13].actions == (started,)


def test_paced_presses_never_flood_central() -> None:
    """Asked for every 0.5 s (faster than anyone presses), paced: all 200 are shown."""
    pace = Pace()
    times = [pace.reserve(i * 0.5) for i in range(200)]
    assert _shown(times) == [True] * 200


def test_the_burst_goes_at_once_then_one_per_period() -> None:
    pace = Pace(burst=3.0, rate_per_s=0.25)
    assert [pace.reserve(0.0) for _ in range(5)] == [0.0, 0.0, 0.0, 4.0, 8.0]


def test_a_late_press_leaves_central_room() -> None:
    """Presses later than reserved (an edge down) come closer together; still none floods."""
    pace = Pace()
    reserved = [pace.reserve(i * 0.5) for i in range(60)]
    late = [max(t, 40.0) if 20.0 <= t <= 40.0 else t for t in reserved]  # a 20 s outage
    assert _shown(sorted(late)) == [True] * 60


def test_margin_keeps_the_burst_below_centrals() -> None:
    assert Pace().burst == BURST - MARGIN_BURST
