"""The edge's self-test judgements and stuck-input tracking: pure, with ``now`` passed in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from edge.core.faults import Fault, FaultKind
from edge.core.selftest import (
    MB,
    Limits,
    StuckInputs,
    check_broker,
    check_clock,
    check_disk,
    check_inputs,
    check_outbox,
    check_outputs,
    check_sensor_board,
    check_test_alarm,
    unknown_check,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LIMITS = Limits()


def test_a_contact_held_past_the_limit_is_stuck_until_released() -> None:
    stuck = StuckInputs(timedelta(seconds=60))
    stuck.closed("desk", T0)
    stuck.closed("desk", T0 + timedelta(seconds=30))  # still the first closing that counts
    assert stuck.stuck(T0 + timedelta(seconds=60)) == {}
    assert stuck.faults(T0 + timedelta(seconds=61)) == (Fault(FaultKind.INPUT_STUCK, "desk"),)
    assert [f.text for f in stuck.faults(T0 + timedelta(seconds=61))] == ["input desk stuck closed"]
    stuck.opened("desk")
    stuck.opened("wall")  # never closed: nothing happens
    assert stuck.faults(T0 + timedelta(seconds=120)) == ()


def test_inputs() -> None:
    ok = check_inputs({"desk": False, "wall": True}, {})
    assert ok.ok
    assert ok.detail == "2 inputs readable"
    bad = check_inputs({"desk": None, "wall": True}, {"wall": timedelta(seconds=75)})
    assert not bad.ok
    assert bad.detail == "desk unreadable; wall stuck closed for 75 s"
    assert check_inputs({}, {}).detail == "no inputs configured"


def test_outputs_compare_steady_states_only() -> None:
    ok = check_outputs({"desk LED": (False, False), "wall LED": (None, True)})
    assert ok.ok
    assert ok.detail == "1 of 2 outputs read back as set"
    bad = check_outputs({"desk LED": (True, False), "wall LED": (None, None)})
    assert not bad.ok
    assert bad.detail == "desk LED set on but reads off; wall LED unreadable"
    assert check_outputs({}).detail == "none"


def test_sensor_board_ping() -> None:
    assert check_sensor_board(False, None, LIMITS).detail == "no sensor board"
    answered = check_sensor_board(True, 0.0123, LIMITS)
    assert answered.ok
    assert answered.value == 12.3
    for rtt in (None, 1.5):
        silent = check_sensor_board(True, rtt, LIMITS)
        assert not silent.ok
        assert "no PONG within 1 s" in silent.detail


def test_outbox_disk_broker() -> None:
    assert check_outbox(None).ok
    assert check_outbox("disk I/O error").detail == "not writable: disk I/O error"
    assert check_disk(200 * MB, LIMITS).ok
    low = check_disk(10 * MB, LIMITS)
    assert not low.ok
    assert low.detail == "10.0 MB free (need 50 MB)"
    assert low.value == 10.0
    assert not check_disk(None, LIMITS).ok
    assert check_broker(0.004).value == 4.0
    assert not check_broker(None).ok


def test_clock_offset_under_two_seconds() -> None:
    assert check_clock(T0 + timedelta(milliseconds=300), T0, LIMITS).ok
    behind = check_clock(T0 - timedelta(seconds=3), T0, LIMITS)
    assert not behind.ok
    assert behind.value == -3000.0
    assert "limit 2 s" in behind.detail


def test_test_alarm_and_unknown_checks() -> None:
    assert not check_test_alarm(False, None, None).ok
    assert "no ack" in check_test_alarm(True, None, None).detail
    acked = check_test_alarm(True, 0.2, "received")
    assert acked.ok
    assert acked.value == 200.0
    assert acked.detail == "ack received"
    assert unknown_check("smoke").detail == "unknown check on this device"
