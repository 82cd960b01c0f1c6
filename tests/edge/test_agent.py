"""The edge agent end to end: gpiozero mock pins → real Mosquitto → acks back → LEDs.

Every test runs the real agent as a task in the test's loop, against its own Mosquitto, and
watches the wire as the "tester" user. Acks come from the "central" user via mosquitto_pub.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

import pytest
from gpiozero.pins.mock import MockFactory

from edge.agent import EdgeAgent
from edge.outbox import Outbox, OutboxRecord
from protocol import AckState, AlarmLevel, AlarmMessage, AlarmSource, encode
from tests.edge.helpers import (
    DESK_BUZZER,
    DESK_LED,
    DESK_PIN,
    DEVICE,
    DOOR_PIN,
    ROOM,
    SITE,
    ManualClock,
    Observer,
    alarm_ids,
    central_ack,
    edge_settings,
    poll,
    raw_to_ack_topic,
    running,
)
from tests.support.agent_waits import wait_connected, wait_for, wait_led, wait_pending
from tests.support.broker import Broker

A1, A2, A3 = UUID(int=1), UUID(int=2), UUID(int=3)


@pytest.fixture
def pins() -> Iterator[MockFactory]:
    factory = MockFactory()
    yield factory
    factory.reset()


def press(pins: MockFactory, pin: int) -> None:
    pins.pin(pin).drive_low()  # pull_up: a closed contact pulls the line low


def release(pins: MockFactory, pin: int) -> None:
    pins.pin(pin).drive_high()


async def test_press_publishes_alarm_and_acks_drive_led_and_buzzer(
    broker: Broker, pins: MockFactory, tmp_path: Path
) -> None:
    settings = edge_settings(broker, tmp_path / "outbox.db")
    agent = EdgeAgent(settings, pin_factory=pins, id_factory=alarm_ids())
    async with Observer(broker) as wire, running(agent):
        await wait_connected(agent)
        assert agent.led_state("desk") == "off"

        press(pins, DESK_PIN)
        alarm = await wire.wait_alarm(lambda a: a.alarm_id == A1)
        assert (alarm.site, alarm.device, alarm.room) == (SITE, DEVICE, ROOM)
        assert (alarm.level, alarm.source, alarm.input, alarm.presses) == (
            AlarmLevel.ACUTE,
            AlarmSource.BUTTON,
            "desk",
            1,
        )
        assert agent.led_state("desk") == "sending"
        assert agent.outbox_pending() == 1
        release(pins, DESK_PIN)

        await central_ack(broker, A1, AckState.RECEIVED)
        await wait_led(agent, "desk", "received")
        assert agent.outbox_pending() == 0
        # The person in the room hears one short chirp when central has the alarm.
        buzzer = pins.pin(DESK_BUZZER)
        await poll(lambda: any(s.state for s in buzzer.states), what="buzzer chirp")

        coming_at = datetime.now(UTC)
        await central_ack(broker, A1, AckState.ACKNOWLEDGED, ("kari",), at=coming_at)
        await wait_led(agent, "desk", "help_coming")
        await poll(lambda: pins.pin(DESK_LED).state == 1, what="LED solid on")

        # A late "received" (sent before "acknowledged") must not move the LED back; the bad
        # ack after it marks the point by which the late one has been handled (same
        # publisher, same topic: in order).
        late = coming_at - timedelta(seconds=1)
        await central_ack(broker, A1, AckState.RECEIVED, at=late)
        await raw_to_ack_topic(broker, b"marker, not json")
        await wait_for(agent, lambda: agent.counters.get("bad_json") == 1)
        assert agent.led_state("desk") == "help_coming"
        # Kari withdrew ("Can't come"): central's newer "received" moves it back.
        await central_ack(broker, A1, AckState.RECEIVED, at=coming_at + timedelta(seconds=1))
        await wait_led(agent, "desk", "received")

        await central_ack(broker, A1, AckState.RESOLVED)
        await wait_led(agent, "desk", "resolved")
        await wait_led(agent, "desk", "off")
        await poll(lambda: pins.pin(DESK_LED).state == 0, what="LED off")
        assert agent.active_alarm("desk") is None

        # Only one alarm id ever went out, and the heartbeat reports the LED per input.
        assert {a.alarm_id for a in wire.alarms()} == {A1}
        await wire.wait_for(
            lambda: any(h.health.outputs.get("desk") == "off" for h in wire.heartbeats())
        )


async def test_held_and_bouncing_contact_is_one_alarm(
    broker: Broker, pins: MockFactory, tmp_path: Path
) -> None:
    clock = ManualClock()  # the bounce happens "within the same instant": no timing luck
    settings = edge_settings(broker, tmp_path / "outbox.db")
    agent = EdgeAgent(settings, pin_factory=pins, id_factory=alarm_ids(), clock=clock)
    async with Observer(broker) as wire, running(agent):
        await wait_connected(agent)
        press(pins, DESK_PIN)
        for _ in range(5):  # contact bounce
            release(pins, DESK_PIN)
            press(pins, DESK_PIN)
        clock.advance(3)  # then held for three seconds
        # A press on the other input after it: once that alarm is on the wire, anything the
        # bounce could have caused would be on the wire before it.
        press(pins, DOOR_PIN)
        door = await wire.wait_alarm(lambda a: a.input == "door")
        assert door.alarm_id == A2
        assert door.level is AlarmLevel.ASSIST
        desk = [a for a in wire.alarms() if a.input == "desk"]
        assert {(a.alarm_id, a.presses) for a in desk} == {(A1, 1)}
        assert agent.led_state("desk") == "sending"
        assert agent.outbox_pending() == 2


async def test_repress_while_active_counts_on_the_same_alarm(
    broker: Broker, pins: MockFactory, tmp_path: Path
) -> None:
    clock = ManualClock()
    settings = edge_settings(broker, tmp_path / "outbox.db")
    agent = EdgeAgent(settings, pin_factory=pins, id_factory=alarm_ids(), clock=clock)
    async with Observer(broker) as wire, running(agent):
        await wait_connected(agent)
        press(pins, DESK_PIN)
        release(pins, DESK_PIN)
        clock.advance(1)
        press(pins, DESK_PIN)
        again = await wire.wait_alarm(lambda a: a.presses == 2)
        assert again.alarm_id == A1

        await central_ack(broker, A1, AckState.RECEIVED)
        await wait_led(agent, "desk", "received")
        assert agent.outbox_pending() == 0

        # Pressed again after central confirmed: the higher count must reach central too.
        release(pins, DESK_PIN)
        clock.advance(1)
        press(pins, DESK_PIN)
        third = await wire.wait_alarm(lambda a: a.presses == 3)
        assert third.alarm_id == A1
        assert agent.outbox_pending() == 1
        assert agent.led_state("desk") == "received"  # a re-press does not move the LED back

        await central_ack(broker, A1, AckState.RESOLVED)
        await wait_led(agent, "desk", "resolved")
        assert agent.outbox_pending() == 0
        release(pins, DESK_PIN)
        clock.advance(1)
        press(pins, DESK_PIN)  # after "resolved": a new alarm, with desk's pre-allocated id
        fresh = await wire.wait_alarm(lambda a: a.alarm_id == A3)  # A2 is door's
        assert fresh.presses == 1
        assert agent.led_state("desk") == "sending"
        assert {a.alarm_id for a in wire.alarms()} == {A1, A3}


async def test_ack_sent_before_a_repress_does_not_settle_the_higher_count(
    broker: Broker, pins: MockFactory, tmp_path: Path
) -> None:
    """The race: central acks presses=1 while the button is pressed a second time."""
    clock = ManualClock()  # resends happen when the test moves the clock, not by luck
    outbox = tmp_path / "outbox.db"
    agent = EdgeAgent(
        edge_settings(broker, outbox), pin_factory=pins, id_factory=alarm_ids(), clock=clock
    )

    def republished() -> int:
        return sum(1 for a in wire.alarms() if (a.alarm_id, a.presses) == (A1, 2))

    async with Observer(broker) as wire, running(agent):
        await wait_connected(agent)
        press(pins, DESK_PIN)
        await wire.wait_alarm(lambda a: (a.alarm_id, a.presses) == (A1, 1))
        release(pins, DESK_PIN)
        clock.advance(0.2)
        press(pins, DESK_PIN)  # the second press, before central's ack has come
        await wire.wait_alarm(lambda a: (a.alarm_id, a.presses) == (A1, 2))

        # Central stored presses=1 and acked it; the ack arrives after the second press.
        await central_ack(broker, A1, AckState.RECEIVED, presses=1)
        await wait_led(agent, "desk", "received")  # the LED follows the ack as always ...
        assert agent.outbox_pending() == 1  # ... but presses=2 is still unconfirmed
        for _ in range(2):  # so it goes out again on every resend interval
            sent = republished()
            clock.advance(1)

            def resent(sent: int = sent) -> bool:
                return republished() > sent

            await wire.wait_for(resent, what="presses=2 resend")

        await central_ack(broker, A1, AckState.RECEIVED, presses=2)
        await wait_for(agent, lambda: agent.outbox_pending() == 0)
        assert agent.led_state("desk") == "received"

    # The durable copy is settled with the count central confirmed.
    stored = Outbox(outbox)
    try:
        row = stored.get(A1)
        assert row is not None
        assert (row.presses, row.acked_state) == (2, "received")
        assert stored.unacked() == []
    finally:
        stored.close()


async def test_malformed_acks_are_counted_and_never_fatal(
    broker: Broker, pins: MockFactory, tmp_path: Path
) -> None:
    settings = edge_settings(broker, tmp_path / "outbox.db")
    agent = EdgeAgent(settings, pin_factory=pins, id_factory=alarm_ids())
    async with Observer(broker) as wire, running(agent):
        await wait_connected(agent)
        await raw_to_ack_topic(broker, b"\xff\xfe not utf-8")
        await raw_to_ack_topic(broker, b'{"v": 1, "site": "oslo-sentrum"}')
        await raw_to_ack_topic(broker, b'{"v": 7}')
        await raw_to_ack_topic(broker, b'{"v": 1, "site": "bergen", "device": "rom-101"}')
        await raw_to_ack_topic(broker, b"x" * 5000)
        await wait_for(agent, lambda: sum(agent.counters.values()) == 5)
        assert agent.counters == {
            "bad_json": 1,
            "invalid_message": 1,
            "unknown_version": 1,
            "topic_mismatch": 1,
            "too_large": 1,
        }
        assert agent.connected

        # Still fully working: a press goes out and a good ack is applied.
        press(pins, DESK_PIN)
        await wire.wait_alarm(lambda a: a.alarm_id == A1)
        await central_ack(broker, A1, AckState.RECEIVED)
        await wait_led(agent, "desk", "received")
        # Heartbeats carry the counters, so central sees the rejected input too.
        await wire.wait_for(
            lambda: any(h.health.counters.get("too_large") == 1 for h in wire.heartbeats())
        )


async def test_alarm_raised_while_broker_is_down_arrives_after_restart(
    broker: Broker, pins: MockFactory, tmp_path: Path
) -> None:
    settings = edge_settings(broker, tmp_path / "outbox.db")
    agent = EdgeAgent(settings, pin_factory=pins, id_factory=alarm_ids())
    async with Observer(broker) as wire, running(agent):
        await wait_connected(agent)
        broker.kill()
        await wait_for(agent, lambda: not agent.connected, what="disconnected")

        press(pins, DESK_PIN)
        await wait_led(agent, "desk", "sending")
        assert agent.outbox_pending() == 1

        broker.start()
        await wait_connected(agent)
        # The observer may resubscribe after the agent's first resend: resends repeat until acked.
        alarm = await wire.wait_alarm(lambda a: a.alarm_id == A1)
        assert alarm.presses == 1
        await central_ack(broker, A1, AckState.RECEIVED)
        await wait_pending(agent, 0)
        await wait_led(agent, "desk", "received")
        assert {a.alarm_id for a in wire.alarms()} == {A1}  # copies, never a second alarm


async def test_unsent_alarm_in_outbox_is_sent_by_the_next_agent(
    broker: Broker, pins: MockFactory, tmp_path: Path
) -> None:
    outbox = tmp_path / "outbox.db"
    settings = edge_settings(broker, outbox)
    broker.kill()  # the alarm can only reach the disk
    first = EdgeAgent(settings, pin_factory=pins, id_factory=alarm_ids())
    async with running(first):
        press(pins, DESK_PIN)
        await wait_led(first, "desk", "sending")
        release(pins, DESK_PIN)
    assert not first.ready

    broker.start()
    second = EdgeAgent(settings, pin_factory=pins, id_factory=alarm_ids(100))
    async with Observer(broker) as wire, running(second):
        assert second.outbox_pending() == 1
        assert second.led_state("desk") == "sending"  # the LED shows it is still on its way
        alarm = await wire.wait_alarm(lambda a: a.alarm_id == A1)
        assert alarm.input == "desk"
        await central_ack(broker, A1, AckState.ACKNOWLEDGED, responders=("ola",))
        await wait_led(second, "desk", "help_coming")
        await wait_pending(second, 0)

    third = EdgeAgent(settings, pin_factory=pins, id_factory=alarm_ids(200))
    async with running(third):
        assert third.outbox_pending() == 0  # acked alarms are not sent again


async def test_first_publish_does_not_wait_for_the_disk(
    broker: Broker, pins: MockFactory, tmp_path: Path
) -> None:
    settings = edge_settings(broker, tmp_path / "outbox.db")
    agent = EdgeAgent(settings, pin_factory=pins, id_factory=alarm_ids())
    async with Observer(broker) as wire, running(agent):
        await wait_connected(agent)
        disk = threading.Event()
        # Hold the outbox's disk thread, as a slow SD card would.
        outbox = agent._alarms.sender._outbox
        assert outbox is not None
        blocked = outbox._executor.submit(disk.wait, 10)
        try:
            press(pins, DESK_PIN)
            await wire.wait_alarm(lambda a: a.alarm_id == A1)
            assert not blocked.done()  # the alarm got out while the disk was still busy
        finally:
            disk.set()
    # After the stop the write had happened: a new agent finds the (unacked) alarm.
    again = EdgeAgent(settings, pin_factory=pins, id_factory=alarm_ids(100))
    async with running(again):
        assert again.outbox_pending() == 1


async def test_unusable_outbox_rows_are_counted_not_sent(
    broker: Broker, pins: MockFactory, tmp_path: Path
) -> None:
    outbox = tmp_path / "outbox.db"
    box = Outbox(outbox)
    now = datetime.now(UTC)
    other = encode(
        AlarmMessage(
            site=SITE,
            device="rom-102",
            alarm_id=UUID(int=77),
            level=AlarmLevel.ASSIST,
            room=ROOM,
            source=AlarmSource.BUTTON,
            input="desk",
            raised_at=now,
        )
    )
    box.put(OutboxRecord(UUID(int=77), "desk", other[0], other[1], 1, now), now)
    box.put(OutboxRecord(UUID(int=78), "desk", other[0], b"{broken", 1, now), now)
    box.close()

    settings = edge_settings(broker, outbox)
    agent = EdgeAgent(settings, pin_factory=pins, id_factory=alarm_ids())
    async with running(agent):
        assert agent.counters == {"outbox_foreign": 1, "outbox_unreadable": 1}
        assert agent.outbox_pending() == 0  # never published under another device's topic
        assert agent.health().counters == agent.counters
        assert agent.faults == ()
        with pytest.raises(TimeoutError, match=r"LED desk=received \(now off\)"):
            await wait_led(agent, "desk", "received", timeout=0.05)
