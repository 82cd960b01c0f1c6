"""The LED tells the truth: nobody coming never shows "help is coming", and an alarm on
nobody's screen never shows "received" (issue 11, item 1).

Only both sides together can see this: central's record goes back from acknowledged to
received when the only colleague coming presses "Can't come", and the edge's LED must follow
it back (docs/protocol.md, the ack's ordering rule, by the record's ``rev``). An alarm stored
while no screen is connected is acked ``shown: false`` and the LED says "stored" until a
colleague's screen shows it. Once the LED follows, the alarm the edge lists in its heartbeats
agrees with central's record, so central's state sync stops answering it.

Real Mosquitto, a real ``trygg-central`` and real ``trygg-desk --headless`` processes; the edge
agent runs its normal code on gpiozero's mock pins; a plain MQTT subscriber watches the wire.
"""

from __future__ import annotations

from pathlib import Path
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


def words(acks: list[AckMessage]) -> list[tuple[str, bool, int | None, int]]:
    """(state, shown, rev, responders) of each ack, in the order they came, repeats dropped."""
    seen: list[tuple[str, bool, int | None, int]] = []
    for ack in acks:
        word = (ack.state.value, ack.shown, ack.rev, len(ack.responders))
        if not seen or seen[-1] != word:
            seen.append(word)
    return seen


async def test_an_alarm_on_nobody_s_screen_shows_stored_until_a_colleague_s_screen_has_it(
    broker: Broker, central: Central, edge: RunningEdge, tmp_path: Path
) -> None:
    async with Observer(broker, "led-stored") as wire:
        # No screen is connected: central stores the alarm, but nobody has it on screen.
        edge.press(17)
        await wait_led(edge.agent, "desk", "stored", timeout=15)
        [alarm] = [a for a in central.alarms("kari") if a["device"] == "rom-101"]
        alarm_id = str(alarm["alarm_id"])
        assert (alarm["state"], alarm["shown_at"]) == ("received", None)
        await wire.wait_for(
            lambda: bool(acks_for(wire, alarm_id)), within=15, what="the ack on the wire"
        )
        assert words(acks_for(wire, alarm_id)) == [("received", False, 1, 0)]
        await wire.wait_for(
            lambda: bool(heartbeats_listing(wire, alarm_id, "stored", 0)),
            within=15,
            what="a heartbeat listing the alarm as stored",
        )

        # A colleague's desk connects and shows it (its snapshot): now it is "received".
        kari = Desk(central, "kari", tmp_path)
        await kari.start()
        try:
            await kari.wait_for(
                lambda ln: ln.get("alarm_id") == alarm_id and ln["event"] == "active"
            )
            await wait_led(edge.agent, "desk", "received", timeout=15)
            [stored] = [a for a in central.alarms("kari") if a["alarm_id"] == alarm_id]
            assert stored["shown_at"] is not None

            await kari.send(f"coming {alarm_id}")
            await wait_led(edge.agent, "desk", "help_coming", timeout=15)
            # The only colleague coming withdraws: back to "received", not to "stored" (she saw
            # it), and never "help is coming" while nobody is.
            await kari.send(f"cant_come {alarm_id}")
            await wait_led(edge.agent, "desk", "received", timeout=15)
            back = len(wire.seen)
            await wire.wait_for(
                lambda: len(heartbeats_listing(wire, alarm_id, "received", back)) >= 2,
                within=30,
                what="2 heartbeats listing the alarm as received",
            )
        finally:
            await kari.stop()

        # Every ack carried the record's revision, one higher for each change the LED shows.
        assert words(acks_for(wire, alarm_id)) == [
            ("received", False, 1, 0),
            ("received", True, 2, 0),
            ("acknowledged", True, 3, 1),
            ("received", True, 4, 0),
        ]
        assert edge.agent.led_state("desk") == "received"
