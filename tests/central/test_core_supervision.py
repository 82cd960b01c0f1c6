"""Supervision's pure core, with ``now`` passed in: offline, health faults, coverage."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from central.core.supervision import (
    BROKER_REASON,
    Fault,
    FaultCleared,
    FaultKind,
    FaultRaised,
    OpeningHours,
    Supervisor,
    fault_kind,
)

OSLO = ZoneInfo("Europe/Oslo")
MONDAY_9 = datetime(2026, 3, 2, 9, 0, tzinfo=OSLO)
HOURS = OpeningHours.parse("08:00-16:00", OSLO)


def at(seconds: float) -> datetime:
    return MONDAY_9 + timedelta(seconds=seconds)


def watching(hours: OpeningHours | None = None) -> Supervisor:
    return Supervisor({"oslo": hours}, started=MONDAY_9)


def kinds(actions: list[FaultRaised | FaultCleared]) -> list[tuple[str, FaultKind]]:
    return [(type(a).__name__, a.fault.kind) for a in actions]


def test_the_will_makes_a_device_offline_and_any_message_brings_it_back() -> None:
    s = watching()
    assert s.status("oslo", "rom-1", True, at(0), (), ("desk",)) == []
    [raised] = s.status("oslo", "rom-1", False, at(1))
    assert isinstance(raised, FaultRaised)
    assert raised.fault == Fault("oslo", "rom-1", FaultKind.OFFLINE, raised.fault.reason, at(1))
    assert "last will" in raised.fault.reason
    assert s.status("oslo", "rom-1", False, at(2)) == []  # already offline: no second fault
    record = s.device("oslo", "rom-1")
    assert record is not None
    assert not record.online
    assert record.inputs == ("desk",)
    [cleared] = s.heard("oslo", "rom-1", at(3))
    assert isinstance(cleared, FaultCleared)
    assert cleared.at == at(3)
    assert s.faults() == []
    assert s.devices()[0].online


def test_three_missed_heartbeats_mean_offline() -> None:
    s = watching()
    s.heartbeat("oslo", "rom-1", 10.0, at(0))
    assert s.tick(at(30)) == []  # exactly three intervals: not yet
    assert kinds(s.tick(at(30.1))) == [("FaultRaised", FaultKind.OFFLINE)]
    assert "3 intervals" in s.faults()[0].reason
    assert s.tick(at(60)) == []
    assert kinds(s.heartbeat("oslo", "rom-1", 10.0, at(61))) == [
        ("FaultCleared", FaultKind.OFFLINE)
    ]


def test_a_device_without_a_heartbeat_yet_is_not_timed_out() -> None:
    s = watching()
    s.status("oslo", "rom-1", True, at(0))
    assert s.tick(at(3600)) == []


def test_health_faults_come_and_go_with_the_reports() -> None:
    s = watching()
    faults = ("sensor-board-silent", "sensor-board-tamper", "input desk stuck closed", "odd")
    assert kinds(s.heartbeat("oslo", "rom-1", 5.0, at(0), faults)) == [
        ("FaultRaised", FaultKind.SENSOR_BOARD),
        ("FaultRaised", FaultKind.TAMPER),
        ("FaultRaised", FaultKind.STUCK_INPUT),
        ("FaultRaised", FaultKind.DEVICE_FAULT),
    ]
    assert s.heartbeat("oslo", "rom-1", 5.0, at(1), faults) == []  # unchanged: quiet
    assert kinds(s.heartbeat("oslo", "rom-1", 5.0, at(2), ("odd",))) == [
        ("FaultCleared", FaultKind.SENSOR_BOARD),
        ("FaultCleared", FaultKind.TAMPER),
        ("FaultCleared", FaultKind.STUCK_INPUT),
    ]
    # A status without health leaves the health faults as they were.
    assert s.status("oslo", "rom-1", True, at(3)) == []
    assert [f.reason for f in s.faults()] == ["odd"]


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("sensor-board-unplugged", FaultKind.SENSOR_BOARD),
        ("sensor-board-tamper", FaultKind.TAMPER),
        ("input wall closed at start", FaultKind.STUCK_INPUT),
        ("input wall stuck closed", FaultKind.STUCK_INPUT),
        ("outbox write failed: disk I/O error", FaultKind.DEVICE_FAULT),
    ],
)
def test_fault_kinds(text: str, kind: FaultKind) -> None:
    assert fault_kind(text) is kind


def test_no_screen_during_opening_hours_is_a_fault_after_the_grace() -> None:
    s = watching(HOURS)
    assert s.tick(at(5)) == []  # within the grace after start
    assert kinds(s.tick(at(10))) == [("FaultRaised", FaultKind.NO_SCREEN)]
    assert s.faults()[0].device == ""
    assert s.screens("oslo") == 0
    assert kinds(s.screens_changed("oslo", 1, at(11))) == [("FaultCleared", FaultKind.NO_SCREEN)]
    assert s.screens("oslo") == 1
    # The last screen leaves: a reconnect within the grace is not a fault.
    assert s.screens_changed("oslo", 0, at(20)) == []
    assert s.tick(at(25)) == []
    assert s.screens_changed("oslo", 0, at(26)) == []  # still none: the clock keeps running
    assert kinds(s.tick(at(30))) == [("FaultRaised", FaultKind.NO_SCREEN)]


def test_coverage_is_not_a_fault_outside_opening_hours_or_without_them() -> None:
    s = watching(HOURS)
    evening = MONDAY_9.replace(hour=17)
    assert s.tick(evening) == []
    saturday = MONDAY_9 + timedelta(days=5)
    assert s.tick(saturday) == []
    unwatched = watching(None)
    assert unwatched.tick(at(3600)) == []
    # A fault raised during the day clears when the office closes.
    assert kinds(s.tick(at(60))) == [("FaultRaised", FaultKind.NO_SCREEN)]
    assert kinds(s.tick(MONDAY_9.replace(hour=16))) == [("FaultCleared", FaultKind.NO_SCREEN)]


def test_opening_hours_parse_and_refuse() -> None:
    hours = OpeningHours.parse("07:30 - 15:00", OSLO, days=[5])
    assert (hours.start, hours.end, hours.days) == (time(7, 30), time(15), frozenset({5}))
    assert hours.open_at(datetime(2026, 3, 7, 8, 0, tzinfo=OSLO))  # a Saturday
    for bad in ("08:00", "16:00-08:00", "8-x"):
        with pytest.raises(ValueError, match=r"opening hours|isoformat"):
            OpeningHours.parse(bad, OSLO)


def test_opening_hours_to_24_00_cover_the_last_minute_of_the_day() -> None:
    hours = OpeningHours.parse("00:00-24:00", OSLO, days=range(7))
    assert hours.open_at(datetime(2026, 3, 7, 23, 59, 59, tzinfo=OSLO))
    assert hours.open_at(datetime(2026, 3, 8, 0, 0, tzinfo=OSLO))


def test_central_own_pause_gives_every_device_a_fresh_grace() -> None:
    s = watching()
    s.heartbeat("oslo", "rom-1", 1.0, at(0))
    s.heartbeat("oslo", "rom-2", 1.0, at(0))
    assert s.tick(at(0.5)) == []
    # Central is stopped for 20 s: the next tick is at 20.5, and nothing was heard meanwhile.
    assert s.tick(at(20.5)) == []
    assert (s.resumed, s.paused_for) == (at(20.5), timedelta(seconds=20))
    assert s.heartbeat("oslo", "rom-1", 1.0, at(21)) == []  # its link delivers again
    t = 21.0
    while t < 30.5:  # rom-2 stays silent: blamed only after the grace from the resumption
        t += 0.5
        if t == int(t):
            assert s.heartbeat("oslo", "rom-1", 1.0, at(t)) == []
        assert s.tick(at(t)) == [], t
    [raised] = s.tick(at(31))
    assert raised == FaultRaised(
        Fault("oslo", "rom-2", FaultKind.OFFLINE, "no heartbeat for 3 intervals", at(31))
    )
    assert s.device("oslo", "rom-1") is not None
    assert s.device("oslo", "rom-1").online  # type: ignore[union-attr]
    assert s.device("oslo", "rom-2").last_seen == at(31)  # type: ignore[union-attr]


def test_a_device_heard_after_the_resumption_is_judged_by_its_own_heartbeats_again() -> None:
    s = watching()
    s.heartbeat("oslo", "rom-1", 1.0, at(0))
    s.tick(at(0.5))
    s.tick(at(20.5))  # paused
    s.heartbeat("oslo", "rom-1", 1.0, at(21))
    assert s.tick(at(22.5)) == []
    assert s.tick(at(24.0)) == []  # exactly three intervals since it was heard
    assert kinds(s.tick(at(24.5))) == [("FaultRaised", FaultKind.OFFLINE)]


def test_ticks_up_to_the_pause_limit_apart_are_no_pause() -> None:
    s = watching()
    s.heartbeat("oslo", "rom-1", 1.0, at(0))
    assert s.tick(at(3)) == []  # 3 s apart: a busy loop, not a pause; exactly 3 intervals
    assert s.resumed is None
    assert kinds(s.tick(at(3.5))) == [("FaultRaised", FaultKind.OFFLINE)]


def broker_fault(site: str, since: float) -> Fault:
    return Fault(site, "", FaultKind.BROKER_UNREACHABLE, BROKER_REASON, at(since))


def ticking(s: Supervisor, start: float, end: float) -> list[FaultRaised | FaultCleared]:
    """Ticks every 0.5 s from just after ``start`` up to ``end``: what they changed."""
    actions: list[FaultRaised | FaultCleared] = []
    t = start
    while t < end:
        t += 0.5
        actions += s.tick(at(t))
    return actions


def test_while_central_cannot_reach_the_broker_one_fault_per_site_and_no_device_blamed() -> None:
    s = Supervisor({"oslo": None, "bergen": None}, started=MONDAY_9)
    s.heartbeat("oslo", "rom-1", 1.0, at(0))
    s.heartbeat("bergen", "rom-9", 1.0, at(0))
    assert s.tick(at(0.5)) == []
    assert s.link(False, at(1)) == []
    assert s.link(False, at(1.5)) == []  # another failed connect: still down since 1 s
    assert ticking(s, 0.5, 3.5) == []  # not yet the grace
    assert s.tick(at(4)) == [
        FaultRaised(broker_fault("bergen", 1)),
        FaultRaised(broker_fault("oslo", 1)),
    ]
    # Down for a minute: silent devices, but nobody is offline and no second broker fault.
    assert ticking(s, 4, 60) == []
    assert s.faults() == [broker_fault("bergen", 1), broker_fault("oslo", 1)]
    assert all(d.online for d in s.devices())
    assert s.link(True, at(60.2)) == [
        FaultCleared(broker_fault("bergen", 1), at(60.2)),
        FaultCleared(broker_fault("oslo", 1), at(60.2)),
    ]
    assert s.link(True, at(60.3)) == []  # already up: nothing
    assert s.faults() == []


def test_after_the_link_is_back_every_device_gets_a_fresh_grace() -> None:
    s = watching()
    s.heartbeat("oslo", "rom-1", 1.0, at(0))
    s.heartbeat("oslo", "rom-2", 1.0, at(0))
    s.link(False, at(0.2))
    assert kinds(ticking(s, 0, 8)) == [("FaultRaised", FaultKind.BROKER_UNREACHABLE)]
    assert kinds(s.link(True, at(8.5))) == [("FaultCleared", FaultKind.BROKER_UNREACHABLE)]
    assert s.resumed is None  # central itself was never paused
    t = 8.0
    while t < 18:  # rom-1 heartbeats again; rom-2 stays silent, within its fresh grace
        t += 0.5
        if t == int(t):
            assert s.heartbeat("oslo", "rom-1", 1.0, at(t)) == []
        assert s.tick(at(t)) == [], t
    assert s.tick(at(18.5)) == []  # exactly resume_grace (10 s) after the link came back
    assert s.heartbeat("oslo", "rom-1", 1.0, at(19)) == []
    assert s.tick(at(19)) == [
        FaultRaised(
            Fault("oslo", "rom-2", FaultKind.OFFLINE, "no heartbeat for 3 intervals", at(19))
        )
    ]


def test_a_short_drop_raises_no_broker_fault() -> None:
    s = watching()
    s.heartbeat("oslo", "rom-1", 1.0, at(0))
    s.link(False, at(1))
    assert ticking(s, 0.5, 3.5) == []
    assert s.link(True, at(3.9)) == []  # back within the 3 s grace: nothing to clear
    assert s.heartbeat("oslo", "rom-1", 1.0, at(4)) == []
    assert s.tick(at(4)) == []
    assert s.faults() == []


def test_a_will_heard_after_the_link_is_back_is_still_a_device_death() -> None:
    s = watching()
    s.heartbeat("oslo", "rom-1", 1.0, at(0))
    s.link(False, at(1))
    ticking(s, 0, 9)
    s.link(True, at(9.1))
    # The device died while central was away: its retained "offline" comes on subscribing.
    [raised] = s.status("oslo", "rom-1", False, at(9.2))
    assert raised == FaultRaised(
        Fault("oslo", "rom-1", FaultKind.OFFLINE, raised.fault.reason, at(9.2))
    )
    assert "last will" in raised.fault.reason
    assert s.faults() == [raised.fault]


def test_the_link_failing_from_the_start_is_a_broker_fault() -> None:
    s = watching()
    s.link(False, at(0))  # the first connect failed
    assert s.tick(at(2.5)) == []
    assert s.tick(at(3)) == [FaultRaised(broker_fault("oslo", 0))]


def test_without_sites_the_broker_fault_is_central_wide() -> None:
    s = Supervisor({}, started=MONDAY_9)
    s.link(False, at(0))
    assert s.tick(at(3)) == [FaultRaised(broker_fault("", 0))]
