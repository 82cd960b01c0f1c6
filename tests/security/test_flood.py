"""Issue 10, item 5: a flood from one device (or one person's desk) is stored and acked in
full and merged, never hidden: every screen of the site (responders too) shows exactly one card
for the source with its room, highest level and count; every change of its alarms updates the
card; "resolve" on it resolves them all; snapshots, the board and a restart of central keep the
one card. Facility managers also get the ``flood`` fault.

Real Mosquitto, real ``trygg-central``, real headless desks.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

import aiomqtt
import websockets

from central.core.flood import BURST, DESK_BURST
from protocol import AlarmLevel
from protocol.screen import RaiseRequest, encode_frame
from tests.security.helpers import alarm_payload
from tests.support.broker import TESTER_PASSWORD, TESTER_USER, Broker
from tests.support.stack import SITE, Central, Desk, Login, Session

ROOM = "Møterom 101"


def cards(desk: Desk) -> dict[str, dict[str, Any]]:
    """The alarm cards a headless desk shows now (its lines replayed; no reconnect between)."""
    shown: dict[str, dict[str, Any]] = {}
    for line in desk.lines:
        if line["event"] not in ("active", "alarm", "update"):
            continue
        if line["state"] == "resolved" or line.get("merged_into"):
            shown.pop(line["alarm_id"], None)
        else:
            shown[line["alarm_id"]] = line
    return shown


async def until(check: Callable[[], bool], what: str, timeout: float = 20) -> None:
    for _ in range(int(timeout / 0.1)):
        if check():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"never true: {what}")


def of_device(desk: Desk, device: str) -> list[dict[str, Any]]:
    return [c for c in cards(desk).values() if c["device"] == device]


def mqtt_client(broker: Broker) -> aiomqtt.Client:
    return aiomqtt.Client(
        broker.host,
        broker.port,
        username=TESTER_USER,
        password=TESTER_PASSWORD,
        protocol=aiomqtt.ProtocolVersion.V5,
    )


async def snapshot_of(central: Central, user: str) -> list[dict[str, Any]]:
    """The alarms of the snapshot a screen of ``user`` gets when it (re)connects."""
    headers = {"Authorization": f"Bearer {central.tokens[user]}"}
    async with websockets.connect(central.ws_url, additional_headers=headers) as ws:
        async with asyncio.timeout(10):
            while (frame := json.loads(await ws.recv()))["type"] != "snapshot":
                pass
    return list(frame["alarms"])


def board(browser: Session) -> tuple[list[str], list[tuple[str, int]]]:
    """The console board's alarm cards and, of those, the flood cards (source, count), as a
    signed-in browser sees them."""
    with browser.client() as client:
        page = client.get("/board/live")
    assert page.status_code == 200, page.text
    found = re.findall(r'data-alarm="([0-9a-f-]+)"', page.text)
    floods = re.findall(r'data-flood="([^"]+)" data-flood-alarms="(\d+)"', page.text)
    return found, [(source, int(n)) for source, n in floods]


def active_ids(central: Central, ids: set[str]) -> set[str]:
    return {a["alarm_id"] for a in central.alarms("kari") if a["state"] != "resolved"} & ids


async def test_eleven_alarms_from_one_device_are_one_card_on_every_desk_and_stay_live(
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
        async with mqtt_client(broker) as mqtt:
            await mqtt.subscribe(f"trygg/v1/{SITE}/rom-101/ack", qos=1)
            sent: list[tuple[str, bytes, str]] = []
            for _ in range(BURST + 1):
                sent.append(alarm_payload(SITE, "rom-101", room=ROOM))
                await mqtt.publish(sent[-1][0], sent[-1][1], qos=1)
            ids = {alarm_id for _, _, alarm_id in sent}
            # The responder's desk and the facility manager's: one card, the room, the count.
            for desk in (kari, fm):

                def one_flood_card(d: Desk = desk) -> bool:
                    return [c.get("flood") for c in of_device(d, "rom-101")] == [BURST + 1]

                await until(
                    one_flood_card, f"one card of {BURST + 1} on {desk.user}'s desk: {cards(desk)}"
                )
            (card,) = of_device(kari, "rom-101")
            assert card["room"] == ROOM
            assert card["level"] == "acute"
            assert card["alarm_id"] == sent[0][2]  # the oldest; the others were withdrawn
            fault = await fm.wait_for(lambda ln: ln["event"] == "fault" and ln["kind"] == "flood")
            assert fault["device"] == "rom-101"
            # The 11th alarm's changes reach the screens: a re-press updates the one card.
            topic, payload, eleventh = sent[-1]
            again = json.loads(payload) | {"presses": 2}
            await mqtt.publish(topic, json.dumps(again).encode(), qos=1)
            await until(
                lambda: [c["presses"] for c in of_device(kari, "rom-101")] == [BURST + 2],
                f"the re-press on the card: {of_device(kari, 'rom-101')}",
            )
            # "I'm coming" on the card: recorded on its alarm, the device's LED is told.
            await kari.send(f"coming {card['alarm_id']}")
            await until(
                lambda: [c["state"] for c in of_device(fm, "rom-101")] == ["acknowledged"],
                "the card acknowledged on the other desk",
            )
            async with asyncio.timeout(20):
                async for message in mqtt.messages:
                    ack = json.loads(bytes(message.payload))
                    if ack["alarm_id"] == card["alarm_id"] and ack["state"] == "acknowledged":
                        break
            # "Resolve" on the card resolves every alarm of the flood, each on record.
            await kari.send(f"resolve {card['alarm_id']}")
            await until(lambda: not active_ids(central, ids), "all 11 resolved")
            await until(lambda: not of_device(fm, "rom-101"), "the card gone from the desk")
        assert not of_device(kari, "rom-101")
        record = {a["alarm_id"]: a for a in central.alarms("kari") if a["alarm_id"] in ids}
        assert {a["resolved_by"] for a in record.values()} == {"kari"}
        assert record[eleventh]["presses"] == 2
    finally:
        await kari.stop()
        await fm.stop()
        central.stop()


async def test_fifty_alarms_are_one_card_in_snapshots_on_the_board_and_after_a_restart(
    broker: Broker, tmp_path: Path
) -> None:
    central = Central(broker, tmp_path, {"kari": "Kari Nordmann"})
    central.start()
    kari = Desk(central, "kari", tmp_path)
    fm: Desk | None = None
    try:
        # The facility manager opens the board, a page: an account with a password.
        central.add_logins(Login("fm", "Frida Drift", ("facility_manager",), desk_token=True))
        fm_browser = central.log_in("fm")
        await kari.start()
        await central.wait_screens(1)
        async with mqtt_client(broker) as mqtt:
            sent = []
            for _ in range(50):
                topic, payload, alarm_id = alarm_payload(SITE, "rom-101", room=ROOM)
                await mqtt.publish(topic, payload, qos=1)
                sent.append(alarm_id)
            topic, payload, other = alarm_payload(SITE, "rom-102", room="Møterom 102")
            await mqtt.publish(topic, payload, qos=1)
        await until(
            lambda: [c.get("flood") for c in of_device(kari, "rom-101")] == [50],
            f"one card of 50: {of_device(kari, 'rom-101')}",
        )
        await kari.wait_for(lambda ln: ln["alarm_id"] == other)  # another room: its own card
        # Every alarm is stored (nothing dropped).
        await until(lambda: len(active_ids(central, set(sent))) == 50, "all 50 stored")

        def one_card(alarms: list[dict[str, Any]]) -> list[tuple[str, str, int | None]]:
            return sorted((a["device"], a["room"], a.get("flood")) for a in alarms)

        expected = [("rom-101", ROOM, 50), ("rom-102", "Møterom 102", None)]
        # A reconnecting desk's snapshot, and the console's board.
        assert one_card(await snapshot_of(central, "kari")) == expected
        found, floods = board(fm_browser)
        assert (len(found), floods) == (2, [(f"{SITE}/rom-101", 50)])
        # After a restart of central: the card is back (not 50 cards), the fault too (and
        # the session, kept in the database).
        central.stop()
        central.start()
        assert one_card(await snapshot_of(central, "kari")) == expected
        fm = Desk(central, "fm", tmp_path)
        await fm.start()
        await until(lambda: len(of_device(fm, "rom-101")) == 1, "the card on a new desk")
        assert of_device(fm, "rom-101")[0]["flood"] == 50
        fault = await fm.wait_for(lambda ln: ln["event"] == "fault" and ln["kind"] == "flood")
        assert fault["device"] == "rom-101"
        found, floods = board(fm_browser)
        assert (len(found), floods) == (2, [(f"{SITE}/rom-101", 50)])
    finally:
        await kari.stop()
        if fm is not None:
            await fm.stop()
        central.stop()


async def test_a_burst_of_silent_alarms_from_one_desk_is_one_card_for_responders(
    broker: Broker, tmp_path: Path
) -> None:
    """Five silent alarms from kari's desk within a minute: past the desk limit (3), they are
    merged into one card that a responder's desk shows, not only a facility manager's fault;
    a burst of 50 stays one card; each is stored."""
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
        sent = [uuid4() for _ in range(5)]
        async with websockets.connect(central.ws_url, additional_headers=headers) as ws:

            async def raise_all(ids: list[Any]) -> None:
                for alarm_id in ids:
                    request = RaiseRequest(
                        alarm_id=alarm_id,
                        level=AlarmLevel.ACUTE,
                        site=SITE,
                        room="Kontor 3.12",
                        raised_at=datetime.now(UTC),
                    )
                    await ws.send(encode_frame(request))

            def from_kari(desk: Desk) -> list[dict[str, Any]]:
                return [c for c in cards(desk).values() if c.get("raised_by") == "kari"]

            await raise_all(sent)
            for desk in (ola, fm):

                def one_card_of_5(d: Desk = desk) -> bool:
                    return [(c.get("flood"), c["room"]) for c in from_kari(d)] == [
                        (5, "Kontor 3.12")
                    ]

                await until(
                    one_card_of_5, f"one card of 5 on {desk.user}'s desk: {from_kari(desk)}"
                )
            assert DESK_BURST < 5
            fault = await fm.wait_for(lambda ln: ln["event"] == "fault" and ln["kind"] == "flood")
            assert fault["device"] == "desktop"
            assert "desk of kari" in fault["reason"]
            more = [uuid4() for _ in range(45)]
            await raise_all(more)
            await until(
                lambda: [c.get("flood") for c in from_kari(ola)] == [50],
                f"one card of 50: {from_kari(ola)}",
            )
            ids = {str(a) for a in sent + more}
            await until(lambda: len(active_ids(central, ids)) == 50, "all 50 stored")
        snapshot = await snapshot_of(central, "ola")
        assert [a.get("flood") for a in snapshot if a.get("raised_by") == "kari"] == [50]
    finally:
        await ola.stop()
        await fm.stop()
        central.stop()
