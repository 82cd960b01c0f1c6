"""The LED tells the truth: nobody coming never shows "help is coming" (issue 11, item 1).

Only both sides together can see this: central's record goes back from acknowledged to
received when the only colleague coming presses "Can't come", and the edge's LED must follow
it back (docs/protocol.md, the ack's ordering rule). Once it has, the alarm the edge lists in
its heartbeats agrees with central's record, so central's state sync stops answering it.

Real Mosquitto, a real ``trygg-central`` and real ``trygg-desk --headless`` processes; the edge
agent runs its normal code on gpiozero's mock pins; a plain MQTT subscriber watches the wire.
"""

from __future__ import annotations

from typing import Any

from protocol import AckMessage, HeartbeatMessage
from tests.e2e.conftest import RunningEdge
from tests.edge.helpers import Observer
from tests.support.agent_waits import wait_led
from tests.support.broker import Broker
from tests.support.stack import Central, Desk

QUIET_HEARTBEATS = 3  # heartbeats (1 s apart) after which central must still be silent


def is_new(line: dict[str, Any]) -> bool:
    return bool(line["event"] == "alarm")


def acks_for(wire: Observer, alarm_id: str, since: int = 0) -> list[AckMessage]:
    acks = []
    for seen in wire.seen[since:]:
        if seen.topic.endswith("/ack"):
            message = seen.decoded()
            if isinstance(message, AckMessage) and str(message.alarm_id) == alarm_id:
                acks.append(message)
    return acks


def heartbeats_listing(wire: Observer, alarm_id: str, state: str, since: int) -> list[int]:
    """Positions (in ``wire.seen``) of heartbeats after ``since`` listing the alarm as ``state``."""
    found = []
    for index, seen in enumerate(wire.seen[since:], start=since):
        if not seen.topic.endswith("/heartbeat"):
            continue
        beat = seen.decoded()
        assert isinstance(beat, HeartbeatMessage)
        if any(
            str(held.alarm_id) == alarm_id and held.state.value == state
            for held in beat.health.alarms
        ):
            found.append(index)
    return found


async def test_the_only_responder_withdrawing_moves_the_led_back_and_the_sync_goes_quiet(
    broker: Broker, central: Central, desks: dict[str, Desk], edge: RunningEdge
) -> None:
    kari, ola = desks["kari"], desks["ola"]
    async with Observer(broker, "led-truth") as wire:
        edge.press(17)
        alarm = await kari.wait_for(is_new)
        alarm_id = str(alarm["alarm_id"])
        await wait_led(edge.agent, "desk", "received", timeout=15)

        await kari.send(f"coming {alarm_id}")
        await wait_led(edge.agent, "desk", "help_coming", timeout=15)

        # The only colleague coming changes her mind: nobody is coming any more.
        await kari.send(f"cant_come {alarm_id}")
        await ola.wait_for(
            lambda ln: (
                ln["alarm_id"] == alarm_id and ln["state"] == "received" and not ln["responders"]
            )
        )
        await wait_led(edge.agent, "desk", "received", timeout=15)
        back = len(wire.seen)  # everything from here on was sent after the LED went back
        withdrawn = [a for a in acks_for(wire, alarm_id) if a.state.value == "received"]
        assert withdrawn
        assert withdrawn[-1].responders == ()
        assert withdrawn[-1].presses == 1
        assert withdrawn[-1].input == "desk"

        # The device now lists what central has stored, so central answers nothing more.
        # (An ack answering a heartbeat sent before the LED went back may still come in just
        # after ``back``; from the second heartbeat listing "received" on, none may.)
        await wire.wait_for(
            lambda: (
                len(heartbeats_listing(wire, alarm_id, "received", back)) >= QUIET_HEARTBEATS + 1
            ),
            within=30,
            what=f"{QUIET_HEARTBEATS + 1} heartbeats listing the alarm as received",
        )
        second_agreeing = heartbeats_listing(wire, alarm_id, "received", back)[1]
        assert acks_for(wire, alarm_id, since=second_agreeing + 1) == []
        assert edge.agent.led_state("desk") == "received"
        [stored] = [a for a in central.alarms("ola") if a["alarm_id"] == alarm_id]
        assert (stored["state"], stored["responders"]) == ("received", [])
