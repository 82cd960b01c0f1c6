"""Self-test judgements, without I/O: the shell measures, these functions say ok or not and why.

Each returns a :class:`protocol.CheckResult` named after its :class:`protocol.CheckName`, with
a ``detail`` a facility manager can act on and, where something was measured, a ``value``
(milliseconds, or megabytes for disk space). :class:`StuckInputs` tracks how long each contact
has been held closed: a button held far longer than any press is stuck, and is a fault.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from edge.core.faults import Fault, FaultKind
from protocol import CheckName, CheckResult

MB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Limits:
    stuck_after: timedelta = timedelta(seconds=60)
    max_clock_offset: timedelta = timedelta(seconds=2)
    min_free_bytes: int = 50 * MB
    ping_timeout: timedelta = timedelta(seconds=1)


@dataclass(slots=True)
class StuckInputs:
    """When each input's contact closed (while it stays closed)."""

    stuck_after: timedelta
    _closed_since: dict[str, datetime] = field(default_factory=dict)

    def closed(self, input_name: str, at: datetime) -> None:
        self._closed_since.setdefault(input_name, at)

    def opened(self, input_name: str) -> None:
        self._closed_since.pop(input_name, None)

    def stuck(self, now: datetime) -> dict[str, timedelta]:
        """Inputs closed for longer than ``stuck_after``, and for how long."""
        return {
            name: now - since
            for name, since in self._closed_since.items()
            if now - since > self.stuck_after
        }

    def faults(self, now: datetime) -> tuple[Fault, ...]:
        return tuple(Fault(FaultKind.INPUT_STUCK, name) for name in sorted(self.stuck(now)))


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def check_inputs(
    readings: Mapping[str, bool | None], stuck: Mapping[str, timedelta]
) -> CheckResult:
    """``readings``: each input's contact (True = closed; None = could not be read)."""
    problems = [f"{name} unreadable" for name, closed in readings.items() if closed is None]
    problems += [
        f"{name} stuck closed for {int(held.total_seconds())} s"
        for name, held in sorted(stuck.items())
    ]
    if not readings:
        problems.append("no inputs configured")
    if problems:
        return CheckResult(name=CheckName.INPUTS, ok=False, detail="; ".join(problems))
    return CheckResult(name=CheckName.INPUTS, ok=True, detail=f"{len(readings)} inputs readable")


def check_outputs(readback: Mapping[str, tuple[bool | None, bool | None]]) -> CheckResult:
    """``readback``: each output's (expected level, level read back); expected None = blinking,
    read back None = could not be read."""
    problems, checked = [], 0
    for name, (expected, actual) in sorted(readback.items()):
        if actual is None:
            problems.append(f"{name} unreadable")
        elif expected is not None:
            checked += 1
            if actual != expected:
                want, got = ("on" if expected else "off"), ("on" if actual else "off")
                problems.append(f"{name} set {want} but reads {got}")
    if problems:
        return CheckResult(name=CheckName.OUTPUTS, ok=False, detail="; ".join(problems))
    detail = f"{checked} of {len(readback)} outputs read back as set" if readback else "none"
    return CheckResult(name=CheckName.OUTPUTS, ok=True, detail=detail)


def check_sensor_board(configured: bool, round_trip_s: float | None, limits: Limits) -> CheckResult:
    if not configured:
        return CheckResult(name=CheckName.SENSOR_BOARD, ok=True, detail="no sensor board")
    limit = limits.ping_timeout.total_seconds()
    if round_trip_s is None or round_trip_s > limit:
        detail = f"no PONG within {limit:g} s (unplugged or silent)"
        return CheckResult(name=CheckName.SENSOR_BOARD, ok=False, detail=detail)
    return CheckResult(name=CheckName.SENSOR_BOARD, ok=True, detail="PONG", value=_ms(round_trip_s))


def check_outbox(error: str | None) -> CheckResult:
    if error is not None:
        return CheckResult(name=CheckName.OUTBOX, ok=False, detail=f"not writable: {error}")
    return CheckResult(name=CheckName.OUTBOX, ok=True, detail="writable")


def check_clock(edge_now: datetime, sent_at: datetime, limits: Limits) -> CheckResult:
    """Offset from central: our time now minus central's ``sent_at`` (includes the transit)."""
    offset = edge_now - sent_at
    limit = limits.max_clock_offset
    value = _ms(offset.total_seconds())
    if abs(offset) >= limit:
        detail = f"clock {value:+.0f} ms from central (limit {limit.total_seconds():g} s)"
        return CheckResult(name=CheckName.CLOCK, ok=False, detail=detail, value=value)
    return CheckResult(name=CheckName.CLOCK, ok=True, detail="in step", value=value)


def check_disk(free_bytes: int | None, limits: Limits) -> CheckResult:
    if free_bytes is None:
        return CheckResult(name=CheckName.DISK, ok=False, detail="free space unknown")
    free_mb = round(free_bytes / MB, 1)
    if free_bytes < limits.min_free_bytes:
        detail = f"{free_mb} MB free (need {limits.min_free_bytes // MB} MB)"
        return CheckResult(name=CheckName.DISK, ok=False, detail=detail, value=free_mb)
    return CheckResult(name=CheckName.DISK, ok=True, detail=f"{free_mb} MB free", value=free_mb)


def check_broker(round_trip_s: float | None) -> CheckResult:
    if round_trip_s is None:
        return CheckResult(name=CheckName.BROKER, ok=False, detail="no PUBACK from the broker")
    return CheckResult(name=CheckName.BROKER, ok=True, detail="PUBACK", value=_ms(round_trip_s))


def check_test_alarm(raised: bool, ack_after_s: float | None, ack_state: str | None) -> CheckResult:
    """The synthetic test press: raised, and central's ack seen (after how long)."""
    if not raised:
        return CheckResult(
            name=CheckName.TEST_ALARM, ok=False, detail="no test_alarm_id or no input to use"
        )
    if ack_after_s is None:
        return CheckResult(
            name=CheckName.TEST_ALARM, ok=False, detail="raised, but no ack before the deadline"
        )
    return CheckResult(
        name=CheckName.TEST_ALARM, ok=True, detail=f"ack {ack_state}", value=_ms(ack_after_s)
    )


def unknown_check(name: str) -> CheckResult:
    return CheckResult(name=name, ok=False, detail="unknown check on this device")
