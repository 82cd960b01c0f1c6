"""Press policy: contact edges and acks in, alarms and LED states out. Pure, no I/O."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest

from edge.core import ButtonSpec, LedState, PressPolicy, RaiseAlarm, Republish, SetLed
from edge.errors import EdgeError, UnknownInput
from protocol import AckState, AlarmLevel

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
BOUNCE = timedelta(milliseconds=30)


def ms(n: float) -> datetime:
    return T0 + timedelta(milliseconds=n)


def ids() -> Iterator[UUID]:
    n = 0
    while True:
        n += 1
        yield UUID(int=n)


A1, A2 = UUID(int=1), UUID(int=2)


@pytest.fixture
def policy() -> PressPolicy:
    counter = ids()
    return PressPolicy(
        [ButtonSpec("desk", AlarmLevel.ACUTE, BOUNCE), ButtonSpec("door", AlarmLevel.ASSIST)],
        id_factory=lambda: next(counter),
        resolved_display=timedelta(seconds=1),
    )


def test_first_press_raises_alarm_then_shows_sending(policy: PressPolicy) -> None:
    actions = policy.contact_closed("desk", T0)
    assert actions == [
        RaiseAlarm(A1, "desk", AlarmLevel.ACUTE, T0),
        SetLed("desk", LedState.SENDING, A1),
    ]
    assert policy.led_state("desk") is LedState.SENDING
    assert policy.active_alarm("desk") == A1
    assert policy.presses(A1) == 1
    assert policy.inputs == ("desk", "door")


def test_held_contact_is_one_alarm(policy: PressPolicy) -> None:
    policy.contact_closed("desk", T0)
    # A driver that reports the same level twice must not make a second alarm.
    assert policy.contact_closed("desk", ms(500)) == []
    assert policy.contact_closed("desk", ms(5000)) == []
    assert policy.presses(A1) == 1


def test_bounce_within_window_is_ignored(policy: PressPolicy) -> None:
    policy.contact_closed("desk", T0)
    assert policy.contact_opened("desk", ms(5)) == []
    assert policy.contact_closed("desk", ms(10)) == []  # 5 ms after opening: bounce
    assert policy.contact_opened("desk", ms(12)) == []
    assert policy.contact_closed("desk", ms(41)) == []  # 29 ms: still bounce
    assert policy.presses(A1) == 1


def test_repress_after_bounce_window_counts_on_same_alarm(policy: PressPolicy) -> None:
    policy.contact_closed("desk", T0)
    policy.contact_opened("desk", ms(200))
    assert policy.contact_closed("desk", ms(230)) == [Republish(A1, "desk", 2)]  # exactly 30 ms
    policy.contact_opened("desk", ms(400))
    assert policy.contact_closed("desk", ms(800)) == [Republish(A1, "desk", 3)]
    assert policy.presses(A1) == 3
    assert policy.active_alarm("desk") == A1


def test_opened_twice_keeps_first_open_time(policy: PressPolicy) -> None:
    policy.contact_closed("desk", T0)
    policy.contact_opened("desk", ms(100))
    policy.contact_opened("desk", ms(125))  # duplicate report: ignored
    # 30 ms after the first open: not bounce.
    assert policy.contact_closed("desk", ms(130)) == [Republish(A1, "desk", 2)]


def test_clock_stepping_back_never_swallows_a_press(policy: PressPolicy) -> None:
    policy.contact_closed("desk", T0)
    policy.contact_opened("desk", ms(100))
    assert policy.contact_closed("desk", ms(-5000)) == [Republish(A1, "desk", 2)]


def test_open_without_close_is_harmless(policy: PressPolicy) -> None:
    assert policy.contact_opened("door", T0) == []
    actions = policy.contact_closed("door", ms(1))  # no earlier close: not bounce
    assert actions[0] == RaiseAlarm(A1, "door", AlarmLevel.ASSIST, ms(1))


def test_inputs_are_independent(policy: PressPolicy) -> None:
    policy.contact_closed("desk", T0)
    actions = policy.contact_closed("door", ms(1))
    assert actions == [
        RaiseAlarm(A2, "door", AlarmLevel.ASSIST, ms(1)),
        SetLed("door", LedState.SENDING, A2),
    ]
    assert policy.led_state("desk") is LedState.SENDING


def test_acks_move_led_forward(policy: PressPolicy) -> None:
    policy.contact_closed("desk", T0)
    assert policy.ack(A1, AckState.RECEIVED, (), ms(50)) == [SetLed("desk", LedState.RECEIVED, A1)]
    assert policy.ack(A1, AckState.ACKNOWLEDGED, ("kari",), ms(90)) == [
        SetLed("desk", LedState.HELP_COMING, A1)
    ]
    assert policy.led_state("desk") is LedState.HELP_COMING


def test_late_received_ack_does_not_move_led_back(policy: PressPolicy) -> None:
    policy.contact_closed("desk", T0)
    policy.ack(A1, AckState.ACKNOWLEDGED, (), ms(50))
    assert policy.ack(A1, AckState.RECEIVED, (), ms(60)) == []
    assert policy.ack(A1, AckState.ACKNOWLEDGED, (), ms(70)) == []  # duplicate
    assert policy.led_state("desk") is LedState.HELP_COMING


def test_received_with_responder_means_help_is_coming(policy: PressPolicy) -> None:
    policy.contact_closed("desk", T0)
    assert policy.ack(A1, AckState.RECEIVED, ("ola",), ms(50)) == [
        SetLed("desk", LedState.HELP_COMING, A1)
    ]


def test_resolved_shows_then_turns_off_and_frees_the_input(policy: PressPolicy) -> None:
    policy.contact_closed("desk", T0)
    policy.contact_opened("desk", ms(100))
    policy.ack(A1, AckState.RECEIVED, (), ms(200))
    assert policy.ack(A1, AckState.RESOLVED, (), ms(1000)) == [
        SetLed("desk", LedState.RESOLVED, A1)
    ]
    assert policy.active_alarm("desk") is None
    assert policy.presses(A1) is None
    assert policy.tick(ms(1500)) == []  # still showing "resolved"
    assert policy.led_state("desk") is LedState.RESOLVED
    assert policy.tick(ms(2000)) == [SetLed("desk", LedState.OFF)]
    assert policy.led_state("desk") is LedState.OFF
    assert policy.tick(ms(3000)) == []
    # Acks for the forgotten alarm change nothing.
    assert policy.ack(A1, AckState.ACKNOWLEDGED, (), ms(3100)) == []


def test_press_after_resolved_is_a_new_alarm(policy: PressPolicy) -> None:
    policy.contact_closed("desk", T0)
    policy.contact_opened("desk", ms(100))
    policy.ack(A1, AckState.RESOLVED, (), ms(1000))
    actions = policy.contact_closed("desk", ms(1200))  # during the "resolved" blinks
    assert actions == [
        RaiseAlarm(A2, "desk", AlarmLevel.ACUTE, ms(1200)),
        SetLed("desk", LedState.SENDING, A2),
    ]
    assert policy.tick(ms(5000)) == []  # the new alarm's LED is not switched off


def test_resolved_turns_off_when_clock_steps_back(policy: PressPolicy) -> None:
    policy.contact_closed("desk", T0)
    policy.ack(A1, AckState.RESOLVED, (), ms(1000))
    assert policy.tick(ms(-60_000)) == [SetLed("desk", LedState.OFF)]


def test_ack_for_unknown_alarm_is_a_no_op(policy: PressPolicy) -> None:
    assert policy.ack(UUID(int=99), AckState.RECEIVED, (), T0) == []
    assert policy.presses(UUID(int=99)) is None


def test_unknown_input_is_an_edge_error(policy: PressPolicy) -> None:
    with pytest.raises(UnknownInput) as raised:
        policy.contact_closed("window", T0)
    assert isinstance(raised.value, EdgeError)
    assert raised.value.input_name == "window"
    assert str(raised.value) == "input 'window' is not configured"
    with pytest.raises(UnknownInput):
        policy.led_state("window")


def test_restore_tracks_an_unacked_alarm_as_sending(policy: PressPolicy) -> None:
    old = UUID(int=500)
    assert policy.restore(old, "desk", 2) == [SetLed("desk", LedState.SENDING, old)]
    assert policy.active_alarm("desk") == old
    # A press now counts on the restored alarm.
    assert policy.contact_closed("desk", T0) == [Republish(old, "desk", 3)]
    assert policy.ack(old, AckState.RECEIVED, (), ms(10)) == [
        SetLed("desk", LedState.RECEIVED, old)
    ]


def test_restore_refuses_unknown_input_second_alarm_and_duplicates(policy: PressPolicy) -> None:
    assert policy.restore(UUID(int=500), "gone", 1) == []
    assert policy.restore(UUID(int=501), "desk", 1) != []
    assert policy.restore(UUID(int=502), "desk", 1) == []  # desk already shows an alarm
    assert policy.restore(UUID(int=501), "door", 1) == []  # same id on another input
    assert policy.active_alarm("door") is None
