"""When self-tests are due: a pure scheduler. Give it the schedules, what was already run, and
``now``; it says what to run. It never decides the same slot twice, and after downtime it runs
the latest missed slot once, marked late, and names the slots that were skipped.

Times are aware datetimes; each schedule's wall-clock time is in the office's time zone, so a
daily test at 06:30 stays at 06:30 across daylight-saving changes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from enum import StrEnum


class Every(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


class SelfTestKind(StrEnum):
    DEVICE_SELFTEST = "device_selftest"  # automatic: every device checks itself
    E2E_TEST_ALARM = "e2e_test_alarm"  # automatic: a test alarm through the whole chain
    MANUAL_ROUND = "manual_round"  # people press every button; central reminds and tracks


@dataclass(frozen=True, slots=True)
class Schedule:
    id: str
    kind: SelfTestKind
    every: Every
    at: time  # wall-clock time in ``zone``
    zone: tzinfo
    weekday: int = 0  # Monday = 0, for weekly schedules
    day: int = 1  # day of month (1–28), for monthly schedules
    grace: timedelta = timedelta(minutes=15)  # later than this after its slot = "late"

    def slot_on(self, day: date) -> datetime | None:
        """This schedule's slot on ``day``, if it has one that day."""
        if self.every is Every.WEEK and day.weekday() != self.weekday:
            return None
        if self.every is Every.MONTH and day.day != self.day:
            return None
        return datetime.combine(day, self.at, tzinfo=self.zone)

    def latest_slot(self, now: datetime) -> datetime:
        """The last slot at or before ``now`` (a schedule always has one within 31 days)."""
        day = now.astimezone(self.zone).date()
        for back in range(0, 32):
            slot = self.slot_on(day - timedelta(days=back))
            if slot is not None and slot <= now:
                return slot
        raise AssertionError("every schedule has a slot within a month")  # pragma: no cover

    def slots_between(self, after: datetime, until: datetime) -> list[datetime]:
        """Every slot in ``(after, until]``, oldest first."""
        slots = []
        day = after.astimezone(self.zone).date()
        last = until.astimezone(self.zone).date()
        while day <= last:
            slot = self.slot_on(day)
            if slot is not None and after < slot <= until:
                slots.append(slot)
            day += timedelta(days=1)
        return slots

    def period(self) -> timedelta:
        """How long one slot covers; "overdue" means no run within this (plus grace)."""
        if self.every is Every.DAY:
            return timedelta(days=1)
        if self.every is Every.WEEK:
            return timedelta(weeks=1)
        return timedelta(days=31)


@dataclass(frozen=True, slots=True)
class Due:
    """Run ``schedule_id`` for ``slot`` now. ``skipped``: earlier slots lost to downtime."""

    schedule_id: str
    kind: SelfTestKind
    slot: datetime
    late: bool
    skipped: tuple[datetime, ...] = ()


class Scheduler:
    """``due(now)`` claims what is due; the shell stores each claim before it runs the test.

    ``done`` maps schedule id → the last slot claimed (from the store, so restarts remember).
    A schedule never seen before starts from ``now``: its first run is its next slot, not a
    burst of history.
    """

    def __init__(self, schedules: Iterable[Schedule], done: Mapping[str, datetime]) -> None:
        self._schedules = {s.id: s for s in schedules}
        self._done: dict[str, datetime | None] = {sid: done.get(sid) for sid in self._schedules}

    def due(self, now: datetime) -> list[Due]:
        found = []
        for schedule in self._schedules.values():
            latest = schedule.latest_slot(now)
            previous = self._done[schedule.id]
            if previous is None:
                # First sight: everything up to now is history, not a debt.
                self._done[schedule.id] = latest
                continue
            if latest <= previous:
                continue
            skipped = tuple(schedule.slots_between(previous, latest)[:-1])
            self._done[schedule.id] = latest
            found.append(
                Due(
                    schedule_id=schedule.id,
                    kind=schedule.kind,
                    slot=latest,
                    late=now - latest > schedule.grace,
                    skipped=skipped,
                )
            )
        return found

    def claimed(self) -> dict[str, datetime]:
        """What to store: the last slot decided for each schedule (including first sight)."""
        return {sid: slot for sid, slot in self._done.items() if slot is not None}

    def next_slot(self, schedule_id: str, now: datetime) -> datetime:
        """When ``schedule_id`` is next due after ``now`` (for the console and timers)."""
        schedule = self._schedules[schedule_id]
        day = now.astimezone(schedule.zone).date()
        for ahead in range(0, 62):
            slot = schedule.slot_on(day + timedelta(days=ahead))
            if slot is not None and slot > now:
                return slot
        raise AssertionError("every schedule has a slot within two months")  # pragma: no cover
