"""Issue 10, item 5: a flood from one device is stored and acked in full, but shown as one
"flood from rom-101" fault to facility managers instead of a card per alarm.

Real Mosquitto, real ``trygg-central``, real headless desks.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import aiomqtt

from central.core.flood import BURST
from tests.security.helpers import alarm_payload
from tests.support.broker import TESTER_PASSWORD, TESTER_USER, Broker
from tests.support.stack import SITE, Central, Desk

FLOOD = 3 * BURST


async def test_a_flood_is_stored_and_acked_but_shown_as_one_fault(
    broker: Broker, tmp_path: Path
) -> None:
    central = Central(
        broker,
        tmp_path,
        {"kari": "Kari Nordmann", "fm": "Frida Drift"},
        roles={"fm": ("facility_manager",)},
    )
    central.start()
    kari, fm = Desk(central, "kari", tmp_path), Desk(central, "fm", tmp_path)
    try:
        await kari.start()
        await fm.start()
        await central.wait_screens(2)
        acked: set[str] = set()
        async with aiomqtt.Client(
            broker.host,
            broker.port,
            username=TESTER_USER,
            password=TESTER_PASSWORD,
            protocol=aiomqtt.ProtocolVersion.V5,
        ) as tester:
            await tester.subscribe(f"trygg/v1/{SITE}/rom-101/ack", qos=1)
            sent = []
            for _ in range(FLOOD):
                topic, payload, alarm_id = alarm_payload(SITE, "rom-101")
                await tester.publish(topic, payload, qos=1)
                sent.append(alarm_id)
            # Then a real alarm from the next room, which must still be a card of its own.
            topic, payload, other = alarm_payload(SITE, "rom-102", room="Møterom 102")
            await tester.publish(topic, payload, qos=1)
            async with asyncio.timeout(30):
                async for message in tester.messages:
                    ack = json.loads(bytes(message.payload))  # type: ignore[arg-type]
                    acked.add(ack["alarm_id"])
                    if acked >= set(sent):
                        break
        # Never dropped: every alarm of the flood is stored and acked to the device.
        assert acked >= set(sent)
        stored = {a["alarm_id"] for a in central.alarms("kari")}
        assert set(sent) <= stored
        # The next room's alarm is shown; screens got the burst, not the flood.
        await kari.wait_for(lambda ln: ln["event"] == "alarm" and ln["alarm_id"] == other)
        cards = [ln for ln in kari.lines if ln["event"] == "alarm" and ln["device"] == "rom-101"]
        assert len(cards) == BURST
        flood = await fm.wait_for(lambda ln: ln["event"] == "fault" and ln["kind"] == "flood")
        assert flood["device"] == "rom-101" and "flood from rom-101" in flood["reason"]
        faults = [ln for ln in fm.lines if ln["event"] == "fault" and ln["kind"] == "flood"]
        assert len(faults) == 1
    finally:
        await kari.stop()
        await fm.stop()
        central.stop()
