"""The scheduler core with an injected clock: due, missed, late, no duplicates across restarts."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from central.core.schedule import Every, Schedule, Scheduler, SelfTestKind

OSLO = ZoneInfo("Europe/Oslo")
DAILY = Schedule("daily", SelfTestKind.DEVICE_SELFTEST, Every.DAY, time(6, 30), OSLO)
WEEKLY = Schedule("weekly", SelfTestKind.E2E_TEST_ALARM, Every.WEEK, time(9, 0), OSLO, weekday=2)
MONTHLY = Schedule("monthly", SelfTestKind.MANUAL_ROUND, Every.MONTH, time(10, 0), OSLO, day=15)


def oslo(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=OSLO)


def test_first_sight_is_not_a_debt_then_each_slot_is_due_once() -> None:
    scheduler = Scheduler([DAILY], {})
    assert scheduler.due(oslo(2026, 3, 2, 12, 0)) == []
    assert scheduler.claimed() == {"daily": oslo(2026, 3, 2, 6, 30)}
    assert scheduler.due(oslo(2026, 3, 3, 6, 29)) == []
    [due] = scheduler.due(oslo(2026, 3, 3, 6, 30, 5))
    assert (due.schedule_id, due.kind, due.slot, due.late, due.skipped) == (
        "daily",
        SelfTestKind.DEVICE_SELFTEST,
        oslo(2026, 3, 3, 6, 30),
        False,
        (),
    )
    assert scheduler.due(oslo(2026, 3, 3, 6, 31)) == []  # never twice


def test_restart_remembers_what_was_claimed() -> None:
    first = Scheduler([DAILY], {"daily": oslo(2026, 3, 2, 6, 30)})
    [due] = first.due(oslo(2026, 3, 3, 7, 0))
    stored = first.claimed()
    # Central restarts a minute later with what it stored: nothing runs again.
    again = Scheduler([DAILY], stored)
    assert again.due(oslo(2026, 3, 3, 7, 1)) == []
    assert due.slot == stored["daily"]


def test_downtime_runs_latest_missed_slot_once_marked_late_and_names_the_rest() -> None:
    scheduler = Scheduler([DAILY], {"daily": oslo(2026, 3, 2, 6, 30)})
    [due] = scheduler.due(oslo(2026, 3, 5, 8, 0))  # down from the 2nd to the 5th
    assert due.slot == oslo(2026, 3, 5, 6, 30)
    assert due.late is True
    assert due.skipped == (oslo(2026, 3, 3, 6, 30), oslo(2026, 3, 4, 6, 30))


def test_within_grace_is_on_time() -> None:
    scheduler = Scheduler([DAILY], {"daily": oslo(2026, 3, 2, 6, 30)})
    [due] = scheduler.due(oslo(2026, 3, 3, 6, 44))
    assert due.late is False


def test_weekly_and_monthly_slots() -> None:
    scheduler = Scheduler(
        [WEEKLY, MONTHLY], {"weekly": oslo(2026, 3, 4, 9), "monthly": oslo(2026, 2, 15, 10)}
    )
    assert scheduler.due(oslo(2026, 3, 10, 23, 0)) == []  # Tuesday; the 10th
    due = {d.schedule_id: d for d in scheduler.due(oslo(2026, 3, 15, 10, 5))}
    assert due["weekly"].slot == oslo(2026, 3, 11, 9)  # Wednesday
    assert due["weekly"].late is True
    assert due["monthly"].slot == oslo(2026, 3, 15, 10)
    assert not due["monthly"].late
    assert scheduler.next_slot("weekly", oslo(2026, 3, 15, 10, 5)) == oslo(2026, 3, 18, 9)
    assert scheduler.next_slot("monthly", oslo(2026, 3, 15, 10, 5)) == oslo(2026, 4, 15, 10)


def test_wall_clock_time_survives_daylight_saving() -> None:
    # Norway moves to summer time on 29 March 2026: 06:30 stays 06:30 local.
    scheduler = Scheduler([DAILY], {"daily": oslo(2026, 3, 28, 6, 30)})
    [due] = scheduler.due(datetime(2026, 3, 29, 4, 31, tzinfo=UTC))
    assert due.slot == oslo(2026, 3, 29, 6, 30)
    assert due.slot.utcoffset() == timedelta(hours=2)


def test_periods() -> None:
    assert [s.period() for s in (DAILY, WEEKLY, MONTHLY)] == [
        timedelta(days=1),
        timedelta(weeks=1),
        timedelta(days=31),
    ]


@pytest.mark.parametrize("schedule", [DAILY, WEEKLY, MONTHLY])
def test_slots_between_matches_repeated_latest(schedule: Schedule) -> None:
    start = oslo(2026, 1, 1)
    slots = schedule.slots_between(start, oslo(2026, 4, 1))
    assert slots == sorted(set(slots))
    assert slots
    assert all(schedule.latest_slot(slot) == slot for slot in slots)
