"""The edge after faults, end to end: held alarms in health, alarms taken up from central,
answered alarms kept across a restart, a contact held at start, a contact stuck across starts.

Real agent, gpiozero mock pins, real Mosquitto; the test plays central by publishing acks.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from uuid import UUID

import pytest
from gpiozero.pins.mock import MockFactory

from edge.agent import EdgeAgent
from edge.outbox import Outbox
from protocol import AckState, AlarmLevel, AlarmSource, HeldAlarm, HeldState
from tests.edge.helpers import (
    DESK_LED,
    DESK_PIN,
    DOOR_PIN,
    ROOM,
    HoldablePin,
    ManualClock,
    Observer,
    alarm_ids,
    central_ack,
    edge_settings,
    poll,
    running,
)
from tests.support.agent_waits import wait_connected, wait_for, wait_led, wait_pending
from tests.support.broker import Broker

A1, A2, A3 = UUID(int=1), UUID(int=2), UUID(int=3)
S = UUID(int=900)  # an alarm central made that the device never raised under that id


@pytest.fixture
def pins() -> Iterator[MockFactory]:
    factory = MockFactory(pin_class=HoldablePin)
    yield factory
    factory.reset()


def press(pins: MockFactory, pin: int) -> None:
    pins.pin(pin).drive_low()


def release(pins: MockFactory, pin: int) -> None:
    pins.pin(pin).drive_high()


def hold_before_start(pins: MockFactory, pin: int) -> None:
    holdable = pins.pin(pin)
    assert isinstance(holdable, HoldablePin)
    holdable.held = True
    holdable.drive_low()


def held(alarm_id: UUID, presses: int, state: HeldState, input_name: str = "desk") -> HeldAlarm:
    return HeldAlarm(alarm_id=alarm_id, input=input_name, presses=presses, state=state)


async def test_held_alarms_are_in_every_heartbeat_and_status(
    broker: Broker, pins: MockFactory, tmp_path: Path
) -> None:
    settings = edge_settings(broker, tmp_path / "outbox.db")
    agent = EdgeAgent(settings, pin_factory=pins, id_factory=alarm_ids())
    async with Observer(broker) as wire, running(agent):
        await wait_connected(agent)
        await wire.wait_for(lambda: bool(wire.statuses()), what="status")
        birth = wire.statuses()[0][1].health
        assert birth is not None
        assert birth.alarms == ()

        press(pins, DESK_PIN)
        await wire.wait_alarm(lambda a: a.alarm_id == A1)
        sending = (held(A1, 1, HeldState.SENDING),)
        await wire.wait_for(lambda: any(h.health.alarms == sending for h in wire.heartbeats()))

        await central_ack(broker, A1, AckState.RECEIVED, responders=("kari",), presses=1)
        coming = (held(A1, 1, HeldState.ACKNOWLEDGED),)
        await wire.wait_for(lambda: any(h.health.alarms == coming for h in wire.heartbeats()))
        assert agent.health().alarms == coming

        # A reconnect's birth status carries them too: central syncs on every "online".
        before = len(wire.statuses())
        broker.kill()
        await wait_for(agent, lambda: not agent.connected, what="disconnected")
        broker.start()
        await wire.wait_for(
            lambda: any(
                s.state == "online" and s.health is not None and s.health.alarms == coming
                for _, s in wire.statuses()[before:]
            ),
            what="birth status with the held alarm",
        )

        await central_ack(broker, A1, AckState.RESOLVED, presses=1)
        await wait_led(agent, "desk", "off")
        assert agent.health().alarms == ()


async def test_an_active_alarm_named_by_central_is_taken_up_and_counts_presses(
    broker: Broker, pins: MockFactory, tmp_path: Path
) -> None:
    clock = ManualClock()
    outbox = tmp_path / "outbox.db"
    settings = edge_settings(broker, outbox)
    agent = EdgeAgent(settings, pin_factory=pins, id_factory=alarm_ids(), clock=clock)
    async with Observer(broker) as wire, running(agent):
        await wait_connected(agent)
        await central_ack(broker, S, AckState.ACKNOWLEDGED, ("ola",), presses=2, input_name="desk")
        await wait_led(agent, "desk", "help_coming")
        await poll(lambda: pins.pin(DESK_LED).state == 1, what="LED solid on")
        assert agent.active_alarm("desk") == S
        assert agent.outbox_pending() == 0  # central has it: nothing to send
        assert agent.health().alarms == (held(S, 2, HeldState.ACKNOWLEDGED),)

        # The door holds its own newer alarm, not yet acked: an ack naming the door for
        # another alarm is not taken up.
        press(pins, DOOR_PIN)
        door = await wire.wait_alarm(lambda a: a.input == "door")
        await central_ack(broker, UUID(int=901), AckState.RECEIVED, input_name="door")
        await central_ack(broker, S, AckState.ACKNOWLEDGED, presses=2, input_name="desk")
        # The door's own ack after them marks the point by which they have been handled
        # (same publisher, same topic: in order).
        await central_ack(broker, door.alarm_id, AckState.RECEIVED, presses=1)
        await wait_led(agent, "door", "received")
        assert agent.active_alarm("door") == door.alarm_id
        assert agent.active_alarm("desk") == S

        # A press on the adopted alarm counts on it, with a whole alarm message.
        clock.advance(1)
        press(pins, DESK_PIN)
        again = await wire.wait_alarm(lambda a: a.alarm_id == S)
        assert (again.presses, again.input, again.level, again.room, again.source) == (
            3,
            "desk",
            AlarmLevel.ACUTE,
            ROOM,
            AlarmSource.BUTTON,
        )
        assert agent.led_state("desk") == "help_coming"  # a re-press does not move it back
        await central_ack(broker, S, AckState.ACKNOWLEDGED, presses=3, input_name="desk")
        await wait_pending(agent, 0)

    # Adopted alarms are kept on disk like the device's own.
    stored = Outbox(outbox)
    try:
        row = stored.get(S)
        assert row is not None
        assert (row.presses, row.acked_state, row.state) == (
            3,
            "acknowledged",
            "acknowledged",
        )
    finally:
        stored.close()


async def test_a_restarted_edge_keeps_its_answered_alarm(
    broker: Broker, pins: MockFactory, tmp_path: Path
) -> None:
    settings = edge_settings(broker, tmp_path / "outbox.db")
    first = EdgeAgent(settings, pin_factory=pins, id_factory=alarm_ids())
    async with Observer(broker) as wire, running(first):
        await wait_connected(first)
        press(pins, DESK_PIN)
        await wire.wait_alarm(lambda a: a.alarm_id == A1)
        release(pins, DESK_PIN)
        await central_ack(broker, A1, AckState.ACKNOWLEDGED, ("kari",), presses=1)
        await wait_led(first, "desk", "help_coming")
        await wait_pending(first, 0)

    second = EdgeAgent(settings, pin_factory=pins, id_factory=alarm_ids(100))
    async with Observer(broker) as wire, running(second):
        # Before any ack of this run: a colleague is still on the way, and the LED says so.
        assert second.led_state("desk") == "help_coming"
        await poll(lambda: pins.pin(DESK_LED).state == 1, what="LED solid on after restart")
        assert second.outbox_pending() == 0  # nothing to send again
        await wait_connected(second)
        await wire.wait_for(
            lambda: any(
                s.health is not None and s.health.alarms == (held(A1, 1, HeldState.ACKNOWLEDGED),)
                for _, s in wire.statuses()
            ),
            what="birth status listing the restored alarm",
        )
        # A second press counts on the active alarm; it is not a new one.
        press(pins, DESK_PIN)
        again = await wire.wait_alarm(lambda a: a.presses == 2)
        assert again.alarm_id == A1
        release(pins, DESK_PIN)
        await central_ack(broker, A1, AckState.RESOLVED, presses=2)
        await wait_led(second, "desk", "off")
        assert {a.alarm_id for a in wire.alarms()} == {A1}

    third = EdgeAgent(settings, pin_factory=pins, id_factory=alarm_ids(200))
    async with running(third):
        assert third.led_state("desk") == "off"  # resolved is over, also on disk
        assert third.active_alarm("desk") is None


async def test_a_restarted_edge_keeps_stored_and_the_revision_of_central_s_word(
    broker: Broker, pins: MockFactory, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="edge")
    settings = edge_settings(broker, tmp_path / "outbox.db")
    first = EdgeAgent(settings, pin_factory=pins, id_factory=alarm_ids())
    async with Observer(broker) as wire, running(first):
        await wait_connected(first)
        press(pins, DESK_PIN)
        await wire.wait_alarm(lambda a: a.alarm_id == A1)
        release(pins, DESK_PIN)
        # Revision 2 of central's record: stored, and on nobody's screen yet.
        await central_ack(broker, A1, AckState.RECEIVED, presses=1, rev=2, shown=False)
        await wait_led(first, "desk", "stored")
        await wait_pending(first, 0)

    second = EdgeAgent(settings, pin_factory=pins, id_factory=alarm_ids(100))
    async with Observer(broker) as wire, running(second):
        assert second.led_state("desk") == "stored"  # from the outbox, before any ack
        await wait_connected(second)
        await wire.wait_for(
            lambda: any(
                s.health is not None and s.health.alarms == (held(A1, 1, HeldState.STORED),)
                for _, s in wire.statuses()
            ),
            what="birth status listing the alarm as stored",
        )
        # A late ack of revision 1 (an "I'm coming" since withdrawn) changes nothing ...
        await central_ack(broker, A1, AckState.ACKNOWLEDGED, ("kari",), presses=1, rev=1)
        # ... and revision 3 (a colleague's screen has it) shows; its ack came after rev 1's.
        await central_ack(broker, A1, AckState.RECEIVED, presses=1, rev=3)
        await wait_led(second, "desk", "received")
        assert second.led_state("desk") == "received"
    # The stale word never lit the LED as "help is coming", not even for a moment.
    assert "led input=desk state=help_coming" not in caplog.text
    assert "led input=desk state=received" in caplog.text

    third = EdgeAgent(settings, pin_factory=pins, id_factory=alarm_ids(200))
    async with running(third):
        assert third.led_state("desk") == "received"
    record = Outbox(tmp_path / "outbox.db").get(A1)
    assert record is not None
    assert (record.state, record.state_rev) == ("received", 3)


async def test_a_contact_held_at_start_is_an_alarm_and_stuck_only_at_the_next_start(
    broker: Broker, pins: MockFactory, tmp_path: Path
) -> None:
    outbox = tmp_path / "outbox.db"
    settings = edge_settings(broker, outbox)
    first = EdgeAgent(settings, pin_factory=pins, id_factory=alarm_ids())
    async with running(first):
        pass  # a first start pre-allocates each input's next id
    stored = Outbox(outbox)
    next_ids, _ = stored.inputs()
    stored.close()
    assert next_ids == {"desk": A1, "door": A2}

    # The power came back while the button is still held: the press that was cut short.
    hold_before_start(pins, DESK_PIN)
    second = EdgeAgent(settings, pin_factory=pins, id_factory=alarm_ids(100))
    async with Observer(broker) as wire, running(second):
        alarm = await wire.wait_alarm(lambda a: a.input == "desk")
        assert (alarm.alarm_id, alarm.held_at_start, alarm.presses) == (A1, True, 1)
        assert second.led_state("desk") == "sending"
        assert second.faults == ()  # an alarm, not a fault
        await central_ack(broker, A1, AckState.RECEIVED, presses=1)
        await wait_led(second, "desk", "received")

    # Still closed at the next start, never opened in between: stuck, and no second alarm.
    third = EdgeAgent(settings, pin_factory=pins, id_factory=alarm_ids(200))
    async with Observer(broker) as wire, running(third):
        await wait_connected(third)
        assert third.faults == ("input desk stuck closed (closed at the last start too)",)
        assert third.active_alarm("desk") == A1  # the alarm it raised is still shown
        assert third.led_state("desk") == "received"
        await wire.wait_for(
            lambda: any(
                s.health is not None and s.health.faults == third.faults for _, s in wire.statuses()
            ),
            what="status with the stuck fault",
        )
        assert wire.alarms() == []
        # Opened at last: the fault clears, and it is no longer "closed at the last start".
        release(pins, DESK_PIN)
        await wait_for(third, lambda: third.faults == (), what="fault cleared")
    pins.pin(DESK_PIN).held = False

    stored = Outbox(outbox)
    try:
        assert stored.inputs()[1] == set()
        assert [(r.alarm_id, r.state) for r in stored.active()] == [(A1, "received")]
    finally:
        stored.close()


async def test_a_press_uses_the_preallocated_id_and_stores_the_next_with_it(
    broker: Broker, pins: MockFactory, tmp_path: Path
) -> None:
    outbox = tmp_path / "outbox.db"
    settings = edge_settings(broker, outbox)
    agent = EdgeAgent(settings, pin_factory=pins, id_factory=alarm_ids())
    async with Observer(broker) as wire, running(agent):
        press(pins, DESK_PIN)
        alarm = await wire.wait_alarm(lambda a: a.input == "desk")
        assert (alarm.alarm_id, alarm.held_at_start) == (A1, False)
        release(pins, DESK_PIN)
    stored = Outbox(outbox)
    try:
        assert stored.inputs() == ({"desk": A3, "door": A2}, set())
    finally:
        stored.close()

    # Restarted with nothing held: every input gets a fresh id, never one that may be used.
    again = EdgeAgent(settings, pin_factory=pins, id_factory=alarm_ids(100))
    async with running(again):
        pass
    stored = Outbox(outbox)
    try:
        assert stored.inputs() == ({"desk": UUID(int=100), "door": UUID(int=101)}, set())
    finally:
        stored.close()
