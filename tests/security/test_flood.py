"""Issue 10, item 5: a flood from one device (or one person's desk) is stored in full, but
shown as one "flood from rom-101" fault to facility managers instead of a card per alarm, on
the live fan-out, in a reconnecting screen's snapshot and on the console's board.

Real Mosquitto, real ``trygg-central``, real headless desks.
"""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

import aiomqtt
import httpx
import websockets

from central.core.flood import BURST, DESK_BURST
from protocol import AlarmLevel
from protocol.screen import RaiseRequest, encode_frame
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
        # Contained everywhere: a screen that connects now gets a bounded snapshot, and the
        # console's board lists the burst, the next room's alarm and one flood card.
        snapshot = await snapshot_of(central, "kari")
        assert sorted(a["device"] for a in snapshot) == ["rom-101"] * BURST + ["rom-102"]
        cards, floods = board(central, "fm")
        assert len(cards) == BURST + 1
        assert floods == [(f"{SITE}/rom-101", FLOOD - BURST)]
    finally:
        await kari.stop()
        await fm.stop()
        central.stop()


async def snapshot_of(central: Central, user: str) -> list[dict[str, Any]]:
    """The alarms of the snapshot a screen of ``user`` gets when it (re)connects."""
    headers = {"Authorization": f"Bearer {central.tokens[user]}"}
    async with websockets.connect(central.ws_url, additional_headers=headers) as ws:
        async with asyncio.timeout(10):
            while (frame := json.loads(await ws.recv()))["type"] != "snapshot":
                pass
    return list(frame["alarms"])


def board(central: Central, user: str) -> tuple[list[str], list[tuple[str, int]]]:
    """The console board's alarm cards and its flood cards (source, alarms held)."""
    page = httpx.get(
        f"{central.url}/board/live",
        headers={"Authorization": f"Bearer {central.tokens[user]}"},
        timeout=10,
    )
    assert page.status_code == 200, page.text
    cards = re.findall(r'data-alarm="([0-9a-f-]+)"', page.text)
    floods = re.findall(r'data-flood="([^"]+)" data-flood-alarms="(\d+)"', page.text)
    return cards, [(source, int(n)) for source, n in floods]


async def test_a_desk_s_silent_alarm_flood_is_stored_but_bounded_on_screens_and_board(
    broker: Broker, tmp_path: Path
) -> None:
    """A compromised desk sends 50 silent alarms in a burst: each is stored; colleagues'
    screens, a reconnecting screen and the board get DESK_BURST cards and one flood card."""
    central = Central(
        broker,
        tmp_path,
        {"kari": "Kari Nordmann", "ola": "Ola Nordmann", "fm": "Frida Drift"},
        roles={"fm": ("facility_manager",)},
    )
    central.start()
    ola, fm = Desk(central, "ola", tmp_path), Desk(central, "fm", tmp_path)
    try:
        await ola.start()
        await fm.start()
        await central.wait_screens(2)
        headers = {"Authorization": f"Bearer {central.tokens['kari']}"}
        sent = [uuid4() for _ in range(50)]
        async with websockets.connect(central.ws_url, additional_headers=headers) as ws:
            for alarm_id in sent:
                request = RaiseRequest(
                    alarm_id=alarm_id,
                    level=AlarmLevel.ACUTE,
                    site=SITE,
                    room="Kontor 3.12",  # type: ignore[arg-type]
                    raised_at=datetime.now(UTC),
                )
                await ws.send(encode_frame(request))
            ids = {str(a) for a in sent}
            for _ in range(300):  # all stored: nothing of a flood is dropped
                stored = {a["alarm_id"] for a in central.alarms("ola")}
                if ids <= stored:
                    break
                await asyncio.sleep(0.1)
            assert ids <= stored
        # Then a device's alarm: once a screen has it, it has had every card of the burst.
        async with aiomqtt.Client(
            broker.host,
            broker.port,
            username=TESTER_USER,
            password=TESTER_PASSWORD,
            protocol=aiomqtt.ProtocolVersion.V5,
        ) as tester:
            topic, payload, after = alarm_payload(SITE, "rom-102", room="Møterom 102")
            await tester.publish(topic, payload, qos=1)
        await ola.wait_for(lambda ln: ln["event"] == "alarm" and ln["alarm_id"] == after)
        cards = [ln for ln in ola.lines if ln["event"] == "alarm" and ln["raised_by"] == "kari"]
        assert [ln["alarm_id"] for ln in cards] == [str(a) for a in sent[:DESK_BURST]]
        flood = await fm.wait_for(lambda ln: ln["event"] == "fault" and ln["kind"] == "flood")
        assert flood["device"] == "desktop" and "desk of kari" in flood["reason"]
        await fm.wait_for(lambda ln: ln["event"] == "alarm" and ln["alarm_id"] == after)
        assert len([ln for ln in fm.lines if ln["event"] == "fault"]) == 1
        # A screen that reconnects, and the console's board: bounded as well.
        snapshot = await snapshot_of(central, "ola")
        assert sorted(a["alarm_id"] for a in snapshot) == sorted(
            [str(a) for a in sent[:DESK_BURST]] + [after]
        )
        cards_on_board, floods = board(central, "fm")
        assert len(cards_on_board) == DESK_BURST + 1
        assert floods == [(f"{SITE}/kari", 50 - DESK_BURST)]
    finally:
        await ola.stop()
        await fm.stop()
        central.stop()
