"""Sensor policy: frames, port changes and ``now`` in; events, alarms and faults out. Pure."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest

from edge.core import LedState, RaiseAlarm, Republish, SetLed, Word
from edge.core.sensors import (
    FAULT_SILENT,
    FAULT_TAMPER,
    FAULT_UNPLUGGED,
    FaultsChanged,
    PublishEvent,
    SensorAction,
    SensorPolicy,
    SensorSettings,
    pendant_input,
)
from edge.core.serial_frames import (
    Door,
    Heartbeat,
    Pendant,
    PendantEvent,
    Pong,
    Presence,
    Sound,
    Tamper,
)
from protocol import AckState, AlarmLevel, AlarmSource, HeldAlarm, HeldState

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
A1, A2 = UUID(int=1), UUID(int=2)


def held(
    alarm_id: UUID, input_name: str, presses: int, state: HeldState = HeldState.SENDING
) -> HeldAlarm:
    """An alarm as the outbox restores it (``restore`` takes the held alarm itself)."""
    return HeldAlarm(alarm_id=alarm_id, input=input_name, presses=presses, state=state)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def ids() -> Iterator[UUID]:
    n = 0
    while True:
        n += 1
        yield UUID(int=n)


def make(**settings: object) -> SensorPolicy:
    counter = ids()
    policy = SensorPolicy(SensorSettings(**settings), lambda: next(counter))  # type: ignore[arg-type]
    assert policy.port_opened(T0) == []  # first open: no fault to clear, no event
    return policy


def events(actions: list[SensorAction]) -> list[tuple[str, str, object]]:
    return [(a.sensor, a.kind, a.value) for a in actions if isinstance(a, PublishEvent)]


def alarms(actions: list[SensorAction]) -> list[SensorAction]:
    return [a for a in actions if isinstance(a, RaiseAlarm | Republish)]


def press(pendant: str, seq: int = 1) -> Pendant:
    return Pendant(seq, pendant, 80, PendantEvent.PRESS)


def test_door_presence_and_tamper_are_events_on_change_only() -> None:
    policy = make()
    assert events(policy.frame(Door(1, True), at(0))) == [("door", "open", None)]
    assert policy.frame(Door(2, True), at(1)) == []  # the periodic repeat is no news
    assert events(policy.frame(Door(3, False), at(2))) == [("door", "closed", None)]
    assert events(policy.frame(Presence(4, True), at(2))) == [("pir", "presence", None)]
    assert policy.frame(Presence(5, True), at(3)) == []
    assert events(policy.frame(Presence(6, False), at(3))) == [("pir", "clear", None)]
    assert policy.frame(Tamper(7, False), at(3)) == []  # closed is the normal state
    assert policy.frame(Heartbeat(8, 5, "1.0.3"), at(3)) == []
    assert policy.frame(Pong(9, "abc"), at(3)) == []


def test_tamper_is_a_fault_until_the_case_closes() -> None:
    policy = make()
    opened = policy.frame(Tamper(1, True), at(1))
    assert opened == [
        PublishEvent("tamper", "tamper", None, at(1)),
        FaultsChanged((FAULT_TAMPER,)),
    ]
    assert policy.faults == (FAULT_TAMPER,)
    assert policy.frame(Tamper(2, True), at(2)) == []
    closed = policy.frame(Tamper(3, False), at(3))
    assert closed == [PublishEvent("tamper", "closed", None, at(3)), FaultsChanged(())]
    assert not policy.faults


def test_silence_is_a_fault_on_tick_and_clears_with_the_next_frame() -> None:
    policy = make(silence=timedelta(seconds=3))
    policy.frame(Heartbeat(1, 1, "fw"), at(1))
    assert policy.tick(at(3.9)) == []
    silent = policy.tick(at(4))
    assert silent == [PublishEvent("board", "silent", 3.0, at(4)), FaultsChanged((FAULT_SILENT,))]
    assert policy.tick(at(60)) == []  # said once
    back = policy.frame(Heartbeat(2, 2, "fw"), at(61))
    assert back == [PublishEvent("board", "back", None, at(61)), FaultsChanged(())]


def test_silence_counts_from_the_port_opening() -> None:
    policy = make(silence=timedelta(seconds=3))
    assert policy.tick(at(2.5)) == []
    assert policy.tick(at(3))[-1] == FaultsChanged((FAULT_SILENT,))


def test_clock_stepping_back_restarts_the_silence_count() -> None:
    policy = make(silence=timedelta(seconds=3))
    policy.frame(Heartbeat(1, 1, "fw"), at(10))
    assert policy.tick(at(5)) == []  # stepped back five seconds
    assert policy.tick(at(7.9)) == []
    assert policy.faults == ()
    assert policy.tick(at(8))[-1] == FaultsChanged((FAULT_SILENT,))


def test_unplug_is_a_fault_instead_of_silence_until_the_port_opens_again() -> None:
    policy = make(silence=timedelta(seconds=3))
    policy.tick(at(5))
    assert policy.faults == (FAULT_SILENT,)
    lost = policy.port_lost(at(6))
    assert lost == [
        PublishEvent("board", "unplugged", None, at(6)),
        FaultsChanged((FAULT_UNPLUGGED,)),
    ]
    assert not policy.connected
    assert policy.port_lost(at(7)) == []  # every failed reopen reports it again: no news
    assert policy.tick(at(100)) == []  # not "silent" while unplugged
    opened = policy.port_opened(at(101))
    assert opened == [PublishEvent("board", "plugged", None, at(101)), FaultsChanged(())]
    assert policy.connected
    assert policy.tick(at(103.9)) == []
    assert policy.tick(at(104))[-1] == FaultsChanged((FAULT_SILENT,))


def test_faults_are_listed_in_a_fixed_order() -> None:
    policy = make(silence=timedelta(seconds=1))
    policy.frame(Tamper(1, True), at(0))
    policy.port_lost(at(1))
    assert policy.faults == (FAULT_UNPLUGGED, FAULT_TAMPER)  # tamper stays until TAMP,0
    policy.port_opened(at(2))
    policy.tick(at(3))
    assert policy.faults == (FAULT_SILENT, FAULT_TAMPER)


def test_pendant_press_raises_an_alarm_like_a_button() -> None:
    policy = make(pendant_level=AlarmLevel.ACUTE, silence=timedelta(seconds=60))
    first = policy.frame(press("p-17"), at(1))
    assert first == [
        PublishEvent("pendant", "press", "p-17", at(1)),
        RaiseAlarm(A1, "p-17", AlarmLevel.ACUTE, at(1), AlarmSource.SENSOR),
        SetLed("p-17", LedState.SENDING, A1),
    ]
    assert policy.active_alarm("p-17") == A1
    # Pressed again while the alarm is active: counted on it, never a new alarm.
    assert alarms(policy.frame(press("p-17", 2), at(2))) == [Republish(A1, "p-17", 2)]
    assert alarms(policy.frame(press("p-17", 3), at(2))) == [Republish(A1, "p-17", 3)]
    # Another pendant is another input.
    other = alarms(policy.frame(press("p-9"), at(3)))
    assert other == [RaiseAlarm(A2, "p-9", AlarmLevel.ACUTE, at(3), AlarmSource.SENSOR)]
    # Central resolves: the next press is a new alarm.
    assert policy.ack(Word(A1, AckState.RESOLVED), at(4)) == [SetLed("p-17", LedState.RESOLVED, A1)]
    assert policy.active_alarm("p-17") is None
    # the "resolved" display runs off on tick, as for buttons
    assert policy.tick(at(6)) == [SetLed("p-17", LedState.OFF)]
    again = alarms(policy.frame(press("p-17", 4), at(7)))
    assert again == [RaiseAlarm(UUID(int=3), "p-17", AlarmLevel.ACUTE, at(7), AlarmSource.SENSOR)]


def test_pendant_level_is_configurable() -> None:
    policy = make(pendant_level=AlarmLevel.ASSIST)
    raised = alarms(policy.frame(press("p1"), at(1)))
    assert raised == [RaiseAlarm(A1, "p1", AlarmLevel.ASSIST, at(1), AlarmSource.SENSOR)]


def test_pendant_battery_is_an_event_not_an_alarm() -> None:
    policy = make()
    report = policy.frame(Pendant(1, "p-17", 12, PendantEvent.BATT), at(1))
    assert report == [PublishEvent("pendant", "battery", "p-17:12", at(1))]
    assert policy.active_alarm("p-17") is None


@pytest.mark.parametrize(
    ("pendant_id", "input_name"),
    [("p-17", "p-17"), ("-x", "pendant_-x"), ("sound", "pendant_sound"), ("A", "A")],
)
def test_pendant_input_names(pendant_id: str, input_name: str) -> None:
    assert pendant_input(pendant_id) == input_name


def sound(policy: SensorPolicy, db: int, second: float) -> list[SensorAction]:
    return policy.frame(Sound(int(second), db), at(second))


def test_sound_level_is_sent_every_10_s_and_on_crossing_the_threshold() -> None:
    policy = make(sound_alarm_db=80, sound_alarm_for=timedelta(seconds=60))
    sent = [s for s in range(0, 25) if events(sound(policy, 50, s))]
    assert sent == [0, 10, 20]
    assert events(sound(policy, 81, 25)) == [("sound", "level", 81)]  # crossed upwards
    assert events(sound(policy, 90, 26)) == []
    assert events(sound(policy, 80, 27)) == [("sound", "level", 80)]  # at the threshold: below
    assert events(sound(policy, 10, 28)) == []


def test_sound_without_a_threshold_is_only_sent_every_10_s() -> None:
    policy = make()
    sent = [s for s, db in enumerate([40, 140, 20, 150] * 6) if events(sound(policy, db, s))]
    assert sent == [0, 10, 20]
    assert policy.active_alarm("sound") is None


def test_sound_report_survives_a_clock_step_back() -> None:
    policy = make()
    assert events(sound(policy, 40, 100))
    assert events(sound(policy, 40, 50))  # stepped back: report now rather than in 60 s


def test_loud_for_long_enough_raises_one_assist_alarm() -> None:
    policy = make(sound_alarm_db=80, sound_alarm_for=timedelta(seconds=5))
    for second in range(0, 5):
        assert alarms(sound(policy, 95, second)) == []
    raised = alarms(sound(policy, 95, 5))
    assert raised == [RaiseAlarm(A1, "sound", AlarmLevel.ASSIST, at(5), AlarmSource.SENSOR)]
    for second in range(6, 30):  # still loud: the same spell, nothing more
        assert alarms(sound(policy, 95, second)) == []
    assert policy.active_alarm("sound") == A1
    # Quiet, then a new loud spell while the alarm is still active: a re-press, not a new one.
    sound(policy, 50, 30)
    for second in range(31, 36):
        assert alarms(sound(policy, 99, second)) == []
    assert alarms(sound(policy, 99, 36)) == [Republish(A1, "sound", 2)]


def test_a_short_loud_spell_raises_nothing() -> None:
    policy = make(sound_alarm_db=80, sound_alarm_for=timedelta(seconds=5))
    for second, db in enumerate([90, 90, 90, 90, 70, 90, 90, 90, 90, 70]):
        assert alarms(sound(policy, db, second)) == []


def test_silence_or_unplug_ends_a_loud_spell() -> None:
    policy = make(
        sound_alarm_db=80, sound_alarm_for=timedelta(seconds=5), silence=timedelta(seconds=3)
    )
    for second in range(0, 4):
        sound(policy, 90, second)
    policy.tick(at(7))  # silent: the spell does not go on in the dark
    assert alarms(sound(policy, 90, 8)) == []
    assert alarms(sound(policy, 90, 12)) == []  # 4 s into the new spell
    policy.port_lost(at(12.5))
    policy.port_opened(at(13))
    assert alarms(sound(policy, 90, 14)) == []  # a new spell after the replug
    assert alarms(sound(policy, 90, 19)) == [
        RaiseAlarm(A1, "sound", AlarmLevel.ASSIST, at(19), AlarmSource.SENSOR)
    ]


def test_loud_spell_and_clock_step_back() -> None:
    policy = make(sound_alarm_db=80, sound_alarm_for=timedelta(seconds=5))
    sound(policy, 90, 100)
    sound(policy, 90, 50)  # stepped back: the spell starts again here
    assert alarms(sound(policy, 90, 54)) == []
    assert len(alarms(sound(policy, 90, 55))) == 1


def test_restored_sensor_alarms_count_further_presses() -> None:
    policy = make(sound_alarm_db=80, sound_alarm_for=timedelta(0))
    assert policy.restore(held(UUID(int=50), "p-17", 2)) == [
        SetLed("p-17", LedState.SENDING, UUID(int=50))
    ]
    assert policy.restore(held(UUID(int=51), "sound", 1)) == [
        SetLed("sound", LedState.SENDING, UUID(int=51))
    ]
    assert alarms(policy.frame(press("p-17"), at(1))) == [Republish(UUID(int=50), "p-17", 3)]
    assert alarms(sound(policy, 90, 2)) == [Republish(UUID(int=51), "sound", 2)]
    assert policy.active_alarm("unknown") is None
    # acks for ids the policy does not know are no-ops (button alarms share the ack topic)
    assert policy.ack(Word(UUID(int=999), AckState.RECEIVED), at(3)) == []


def test_restored_pendant_alarm_keeps_the_configured_level_for_new_ones() -> None:
    policy = make(pendant_level=AlarmLevel.ASSIST)
    policy.restore(held(UUID(int=50), "p-1", 1))
    policy.ack(Word(UUID(int=50), AckState.RESOLVED), at(1))
    raised = alarms(policy.frame(press("p-1"), at(2)))
    assert raised == [RaiseAlarm(A1, "p-1", AlarmLevel.ASSIST, at(2), AlarmSource.SENSOR)]
