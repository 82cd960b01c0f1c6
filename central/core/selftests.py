"""Judging self-tests, without I/O: a device's answer, an end-to-end test alarm, what is overdue.

* A device self-test passes when every check it answered is ok. No answer by the deadline is
  a failure with the reason "no answer" — never silence.
* An end-to-end test alarm passes when the test alarm reached central, was stored, reached the
  site's test screen and the device saw its ack, all before the deadline. Each leg's latency is
  a check with a ``value`` in milliseconds.
* Anything not tested (passed) within its schedule's period, plus grace, is overdue.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from uuid import UUID

from protocol import CheckName, CheckResult

NO_ANSWER = "no answer"
ANSWER_CHECK = "answer"


class RunResult(StrEnum):
    OPEN = "open"  # sent, waiting for the answer
    PASSED = "passed"
    FAILED = "failed"
    MISSED = "missed"  # a slot lost to downtime (the latest missed slot runs, marked late)
    DUE = "due"  # a manual test's slot: people must do it (the overdue list follows it up)


@dataclass(frozen=True, slots=True)
class Verdict:
    result: RunResult
    checks: tuple[CheckResult, ...]
    reason: str = ""


def judge_device(results: Iterable[CheckResult] | None) -> Verdict:
    """A device's answer to ``selftest/run`` (None: no answer by the deadline)."""
    if results is None:
        check = CheckResult(name=ANSWER_CHECK, ok=False, detail=NO_ANSWER)
        return Verdict(RunResult.FAILED, (check,), NO_ANSWER)
    checks = tuple(results)
    if not checks:
        check = CheckResult(name=ANSWER_CHECK, ok=False, detail="an answer without checks")
        return Verdict(RunResult.FAILED, (check,), check.detail)
    failed = [c for c in checks if not c.ok]
    if failed:
        reason = "; ".join(f"{c.name}: {c.detail}" if c.detail else c.name for c in failed)
        return Verdict(RunResult.FAILED, checks, reason[:500])
    return Verdict(RunResult.PASSED, checks)


def _ms(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return round((end - start).total_seconds() * 1000, 1)


class Leg(StrEnum):
    EDGE_TO_CENTRAL = "edge_to_central"  # press (edge clock) → central saw it (central clock)
    STORED = "stored"  # central saw it → committed to the store
    TO_TEST_SCREEN = "to_test_screen"  # central saw it → the test screen said "delivered"
    EDGE_ACK = "edge_ack"  # press → ack at the edge (the edge's own clock)


@dataclass(slots=True)
class E2ETrial:
    """One end-to-end test alarm, followed leg by leg."""

    run_id: UUID
    alarm_id: UUID
    site: str
    device: str
    deadline: datetime
    raised_at: datetime | None = None
    received_at: datetime | None = None
    stored_at: datetime | None = None
    delivered_at: datetime | None = None
    edge_answer: CheckResult | None = None

    def seen(self, raised_at: datetime, now: datetime) -> None:
        if self.received_at is None:
            self.raised_at, self.received_at = raised_at, now

    def stored(self, now: datetime) -> None:
        if self.stored_at is None:
            self.stored_at = now

    def delivered(self, now: datetime) -> None:
        if self.delivered_at is None:
            self.delivered_at = now

    def answered(self, results: Iterable[CheckResult]) -> None:
        for result in results:
            if result.name == CheckName.TEST_ALARM:
                self.edge_answer = result

    @property
    def complete(self) -> bool:
        return None not in (self.stored_at, self.delivered_at, self.edge_answer)

    def verdict(self) -> Verdict:
        """Call when complete, or at the deadline."""
        answer = self.edge_answer
        legs = [
            (Leg.EDGE_TO_CENTRAL, _ms(self.raised_at, self.received_at), "never reached central"),
            (Leg.STORED, _ms(self.received_at, self.stored_at), "never stored"),
            (
                Leg.TO_TEST_SCREEN,
                _ms(self.received_at, self.delivered_at),
                "the test screen never confirmed it",
            ),
        ]
        checks = [
            CheckResult(name=leg, ok=ms is not None, detail="" if ms is not None else why, value=ms)
            for leg, ms, why in legs
        ]
        if answer is None:
            checks.append(CheckResult(name=Leg.EDGE_ACK, ok=False, detail=NO_ANSWER))
        else:
            checks.append(answer.model_copy(update={"name": Leg.EDGE_ACK.value}))
        failed = [c for c in checks if not c.ok]
        if not failed:
            return Verdict(RunResult.PASSED, tuple(checks))
        if self.received_at is None and answer is None:
            return Verdict(RunResult.FAILED, tuple(checks), NO_ANSWER)
        reason = "; ".join(f"{c.name}: {c.detail}" for c in failed)
        return Verdict(RunResult.FAILED, tuple(checks), reason[:500])


@dataclass(frozen=True, slots=True)
class Overdue:
    schedule_id: str
    kind: str
    site: str
    device: str  # "" for a site-wide test
    input: str  # "" unless a button
    last_passed: datetime | None
    due_since: datetime  # when it became overdue (or when it was first known)


Target = tuple[str, str, str]  # (site, device, input); "" where it does not apply


def overdue(
    schedule_id: str,
    kind: str,
    period: timedelta,
    targets: Iterable[Target],
    last_passed: Mapping[Target, datetime],
    now: datetime,
    known_since: datetime,
) -> list[Overdue]:
    """Targets not passed within ``period``. One never passed is overdue since ``known_since``
    (when central first knew of it): untested is never "fine"."""
    found = []
    for target in sorted(set(targets)):
        last = last_passed.get(target)
        if last is not None and now - last <= period:
            continue
        site, device, input_name = target
        since = known_since if last is None else last + period
        found.append(Overdue(schedule_id, kind, site, device, input_name, last, since))
    return found
