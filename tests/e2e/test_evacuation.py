"""Evacuation and lockdown end to end (issue 11, item 4): real Mosquitto, a real
``trygg-central``, real ``trygg-desk --headless`` processes, and real edge agents on gpiozero
mock pins (their buzzers are mock pins too).

An evacuation announced through the API reaches every desk and every edge buzzer of the site
and nothing of another site; a desk and an edge that connect mid-evacuation get it at once; an
employee's desk may not end it; a reception button ends it (all clear, everywhere) and starts
one again; a device of another site and a malformed request change nothing, with the reason
logged.

What people see follows central's truth after any fault: an evacuation whose write fails on a
full disk is retried until stored (and so survives a kill of central); one whose record was
lost with a kill is ended on every buzzer and desk when central is back, and "All clear" is
accepted all the same; a broker that restarts (losing its retained messages) gets every
device's state again from central, and a change made while it is down is not lost.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import sqlite3
import subprocess
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from gpiozero.pins.mock import MockFactory

from configfile import load_settings
from edge.agent import EdgeAgent
from edge.config import EdgeSettings
from tests.support.agent_waits import wait_connected, wait_for, wait_ready
from tests.support.broker import Broker
from tests.support.small_disk import fill, mount_small_disk
from tests.support.stack import SITE, Central, Desk

BERGEN = "bergen"
USERS = {
    "kari": "Kari Nordmann",
    "ola": "Ola Hansen",
    "per": "Per Olsen",
    "lise": "Lise Berg",
}
DEVICES = (
    (SITE, "rom-101", "Møterom 101"),
    (SITE, "rom-102", "Møterom 102"),
    (SITE, "resepsjon", "Resepsjon"),
    (BERGEN, "bergen-101", "Bergen 101"),
)
SOUNDER, BUTTON_BUZZER = 5, 24  # every edge: [announce] buzzer_pin, the desk button's buzzer
EVACUATE_PIN, ALL_CLEAR_PIN = 6, 12  # the reception's announcing inputs


def edge_toml(workdir: Path, broker: Broker, site: str, device: str, reception: bool) -> Path:
    password = f"{device}-{secrets.token_hex(8)}"
    broker.add_user(device, password)
    path = workdir / f"{device}.toml"
    text = (
        f'site = "{site}"\ndevice = "{device}"\nroom = "Rom {device}"\n'
        "heartbeat_interval_s = 1.0\nresend_interval_s = 1.0\n"
        f'[mqtt]\nhost = "{broker.host}"\nport = {broker.port}\npassword = "{password}"\n'
        "keepalive_s = 5\n"
        f'[outbox]\npath = "{workdir / (device + "-outbox.db")}"\n'
        '[[buttons]]\ninput = "desk"\npin = 17\nlevel = "acute"\nled_pin = 27\n'
        f"buzzer_pin = {BUTTON_BUZZER}\n"
        f"[announce]\nbuzzer_pin = {SOUNDER}\n"
    )
    if reception:
        text += (
            f'[[announce.inputs]]\ninput = "evakuer"\npin = {EVACUATE_PIN}\nkind = "evacuate"\n'
            f'[[announce.inputs]]\ninput = "alt-klart"\npin = {ALL_CLEAR_PIN}\n'
            'kind = "all_clear"\n'
        )
    path.write_text(text)
    return path


class Edge:
    def __init__(self, agent: EdgeAgent, pins: MockFactory) -> None:
        self.agent = agent
        self.pins = pins

    def press(self, pin: int) -> None:
        self.pins.pin(pin).drive_low()
        self.pins.pin(pin).drive_high()

    def changes(self, pin: int) -> int:
        return len(self.pins.pin(pin).states)

    async def sounding(self, kind: str) -> None:
        """The agent says ``kind`` and both buzzers beep: each has been on and off again since
        then. Both are watched from the same moment (they beep at the same time), so a check
        waits out one beep of the tone, not one per buzzer."""
        await wait_for(self.agent, lambda: self.agent.announcement == kind, 15, kind)
        starts = {pin: self.changes(pin) for pin in (SOUNDER, BUTTON_BUZZER)}

        def beeped(pin: int) -> bool:
            states = [s.state for s in self.pins.pin(pin).states[starts[pin] :]]
            return True in states and False in states[states.index(True) :]

        for _ in range(600):  # bounded polling: gpiozero beeps on its own thread
            if all(beeped(pin) for pin in starts):
                return
            await asyncio.sleep(0.01)
        silent = [pin for pin in starts if not beeped(pin)]
        raise AssertionError(f"buzzer on pin(s) {silent} did not beep for {kind}")

    async def silent(self) -> int:
        """All clear reached the agent: both buzzers are off (returns the change count)."""
        await wait_for(self.agent, lambda: self.agent.announcement == "all_clear", 15, "clear")
        for pin in (SOUNDER, BUTTON_BUZZER):
            assert self.pins.pin(pin).state == 0, f"buzzer on pin {pin} still on"
        return self.changes(SOUNDER) + self.changes(BUTTON_BUZZER)


@asynccontextmanager
async def running_edge(
    broker: Broker, workdir: Path, site: str, device: str, reception: bool = False
) -> AsyncIterator[Edge]:
    settings = load_settings(EdgeSettings, edge_toml(workdir, broker, site, device, reception))
    pins = MockFactory()
    agent = EdgeAgent(settings, pin_factory=pins)
    task = asyncio.create_task(agent.run())
    await wait_ready(agent, timeout=10)
    await wait_connected(agent, timeout=10)
    try:
        yield Edge(agent, pins)
    finally:
        agent.stop()
        await asyncio.wait_for(task, 15)
        pins.close()


def make_central(broker: Broker, workdir: Path, store: Path | None = None) -> Central:
    """``store``: the record's file elsewhere (on a small disk)."""
    central = Central(
        broker,
        workdir,
        USERS,
        sites=(SITE, BERGEN),
        devices=DEVICES,
        user_sites={"kari": (SITE,), "ola": (SITE,), "lise": (SITE,), "per": (BERGEN,)},
        roles={"lise": ("employee",)},
    )
    text = central.config.read_text()
    if store is not None:
        text = text.replace(str(workdir / "central.db"), str(store))
    reception = 'id = "resepsjon"\n'
    central.config.write_text(
        text.replace(reception, reception + 'announces = ["evacuate", "all_clear"]\n')
    )
    return central


def announcement(kind: str, by: str | None = None) -> Any:
    def match(line: dict[str, Any]) -> bool:
        return (
            line["event"] == "announcement"
            and line["site"] == SITE
            and line["kind"] == kind
            and (by is None or line["by"] == by)
        )

    return match


def announce(central: Central, user: str, kind: str) -> httpx.Response:
    return httpx.post(
        f"{central.url}/api/announcements",
        json={"site": SITE, "kind": kind},
        headers={"Authorization": f"Bearer {central.tokens[user]}"},
        timeout=10,
    )


def announcements(central: Central, user: str) -> dict[str, Any]:
    answer = httpx.get(
        f"{central.url}/api/announcements",
        headers={"Authorization": f"Bearer {central.tokens[user]}"},
        timeout=10,
    )
    return dict(answer.json())


def active(central: Central) -> list[dict[str, Any]]:
    return list(announcements(central, "kari")["active"])


async def test_evacuation_reaches_every_desk_and_buzzer_of_the_site_until_all_clear(
    broker: Broker, tmp_path: Path
) -> None:
    central = make_central(broker, tmp_path)
    central.start()
    try:
        async with AsyncExitStack() as stack:
            desks = {}
            for user in ("kari", "ola", "per"):
                desks[user] = Desk(central, user, tmp_path)
                await desks[user].start()
                stack.push_async_callback(desks[user].stop)
            await central.wait_screens(3)
            room = await stack.enter_async_context(running_edge(broker, tmp_path, SITE, "rom-101"))
            desk_edge = await stack.enter_async_context(
                running_edge(broker, tmp_path, SITE, "resepsjon", reception=True)
            )
            bergen = await stack.enter_async_context(
                running_edge(broker, tmp_path, BERGEN, "bergen-101")
            )

            # Kari evacuates the site through the API.
            answer = announce(central, "kari", "evacuate")
            assert answer.status_code == 200, answer.text
            for user in ("kari", "ola"):
                line = await desks[user].wait_for(announcement("evacuate", "kari"))
                assert (line["by_name"], line["active"]) == ("Kari Nordmann", True)
                assert line["at"] == answer.json()["active"]["at"]
            await room.sounding("evacuate")
            await desk_edge.sounding("evacuate")

            # A desk and an edge connecting mid-evacuation get it at once.
            lise = Desk(central, "lise", tmp_path)
            await lise.start()
            stack.push_async_callback(lise.stop)
            await lise.wait_for(announcement("evacuate", "kari"))
            late = await stack.enter_async_context(running_edge(broker, tmp_path, SITE, "rom-102"))
            await late.sounding("evacuate")

            # Lise is an employee: her desk may not end it.
            await lise.send(f"all_clear {SITE}")
            await refused(central, "screen_forbidden")
            assert "audit: lise socket_refused oslo-sentrum announce" in central.logs()
            assert [a["kind"] for a in active(central)] == ["evacuate"]

            # The reception's "all clear" button ends it everywhere.
            desk_edge.press(ALL_CLEAR_PIN)
            for desk in (desks["kari"], desks["ola"], lise):
                await desk.wait_for(announcement("all_clear", "device:resepsjon"))
            quiet = {edge: await edge.silent() for edge in (room, desk_edge, late)}
            assert active(central) == []

            # Its "evacuate" button starts one again; the API's all clear ends it.
            desk_edge.press(EVACUATE_PIN)
            line = await desks["ola"].wait_for(announcement("evacuate", "device:resepsjon"))
            assert line["by_name"] == "Resepsjon"
            await room.sounding("evacuate")
            assert announce(central, "ola", "all_clear").status_code == 200
            await desks["kari"].wait_for(announcement("all_clear", "ola"))
            for edge in (room, desk_edge, late):
                quiet[edge] = await edge.silent()

            # Bergen heard nothing of it: no desk line, no buzzer.
            assert [ln for ln in desks["per"].lines if ln["event"] == "announcement"] == []
            assert bergen.agent.announcement == "all_clear"
            assert bergen.changes(SOUNDER) == 1  # only its initial state
            # And the buzzers stayed off after the all clear.
            for edge, changes in quiet.items():
                assert edge.changes(SOUNDER) + edge.changes(BUTTON_BUZZER) == changes
        history = await asyncio.to_thread(lambda: announcements(central, "ola")["history"])
        assert [(a["kind"], a["by"]) for a in history] == [
            ("all_clear", "ola"),
            ("evacuate", "device:resepsjon"),
            ("all_clear", "device:resepsjon"),
            ("evacuate", "kari"),
        ]
    finally:
        central.stop()


async def refused(central: Central, reason: str) -> None:
    """Until central's health counts a rejection for ``reason`` (bounded polling)."""
    for _ in range(500):
        if central.health()["rejected"].get(reason):
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"no {reason}: {central.health()['rejected']}\n{central.logs()}")


async def test_another_site_s_device_and_a_malformed_request_change_nothing(
    broker: Broker, tmp_path: Path
) -> None:
    central = make_central(broker, tmp_path)
    central.start()
    try:
        async with (
            running_edge(broker, tmp_path, BERGEN, "bergen-101", reception=True) as bergen,
            running_edge(broker, tmp_path, SITE, "rom-101") as room,
        ):
            desk = Desk(central, "kari", tmp_path)
            await desk.start()
            try:
                await central.wait_screens(1)
                # Bergen's button: registered at Bergen, but not allowed to announce.
                bergen.press(EVACUATE_PIN)
                await refused(central, "announce_announce_not_allowed")
                # Bergen's device publishing under Oslo's topic (the test broker's pattern ACL
                # lets it; the generated ACL would not): not registered at Oslo. (Its account
                # is the edge's, so the broker drops the edge's session meanwhile.)
                crafted = {
                    "v": 1,
                    "site": SITE,
                    "device": "bergen-101",
                    "request_id": "9c8e2b71-3d1f-4f6a-b0a2-7e5d4c3b2a19",
                    "kind": "evacuate",
                    "input": "evakuer",
                    "at": "2026-11-27T10:15:01Z",
                }
                topic = f"trygg/v1/{SITE}/bergen-101/announce/request"
                broker.pub(topic, json.dumps(crafted).encode(), user="bergen-101")
                # A malformed request from Oslo's own reception device (no request_id, input, at).
                malformed = {"v": 1, "site": SITE, "device": "resepsjon", "kind": "evacuate"}
                topic = f"trygg/v1/{SITE}/resepsjon/announce/request"
                broker.pub(topic, json.dumps(malformed).encode())
                await refused(central, "announce_unregistered_device")
                await refused(central, "invalid_message")
                logs = central.logs()
                assert "of bergen/bergen-101 refused: announce_not_allowed" in logs
                assert f"of {SITE}/bergen-101 refused: unregistered_device" in logs
                assert "announce/request: invalid_message" in logs
                assert active(central) == []
                assert [ln for ln in desk.lines if ln["event"] == "announcement"] == []
                assert room.agent.announcement == bergen.agent.announcement == "all_clear"
            finally:
                await desk.stop()
    finally:
        central.stop()


async def test_a_lockdown_survives_a_restart_of_central(broker: Broker, tmp_path: Path) -> None:
    central = make_central(broker, tmp_path)
    central.start()
    try:
        async with running_edge(broker, tmp_path, SITE, "rom-101") as room:
            answer = await asyncio.to_thread(announce, central, "kari", "lockdown")
            assert answer.status_code == 200, answer.text
            await room.sounding("lockdown")
            central.kill()  # a power cut of the server, mid-lockdown
            central.start()
            assert [a["kind"] for a in active(central)] == ["lockdown"]
            desk = Desk(central, "ola", tmp_path)
            await desk.start()
            try:
                line = await desk.wait_for(announcement("lockdown", "kari"))
                assert line["at"] == answer.json()["active"]["at"]
                assert room.agent.announcement == "lockdown"
                ended = await asyncio.to_thread(announce, central, "ola", "all_clear")
                assert ended.status_code == 200, ended.text
                await desk.wait_for(announcement("all_clear", "ola"))
                await room.silent()
            finally:
                await desk.stop()
    finally:
        central.stop()


# --- after faults: the record, central, the broker ----------------------------------------------


def stored_kinds(db: Path) -> list[str]:
    with sqlite3.connect(db) as connection:
        rows = connection.execute("SELECT kind FROM announcements ORDER BY at").fetchall()
    return [r[0] for r in rows]


async def until(check: Any, what: str) -> None:
    """Until ``check()`` is true (bounded polling)."""
    for _ in range(1000):
        if await asyncio.to_thread(check):
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"never: {what}")


async def test_an_evacuation_not_stored_on_a_full_disk_is_retried_and_survives_a_kill(
    broker: Broker, tmp_path: Path
) -> None:
    disk = tmp_path / "disk"
    mount_small_disk(disk)
    db = disk / "central.db"
    central = make_central(broker, tmp_path, store=db)
    central.start()
    try:
        async with running_edge(broker, tmp_path, SITE, "rom-101") as room:
            desk = Desk(central, "ola", tmp_path)
            await desk.start()
            try:
                filler = fill(disk)
                answer = await asyncio.to_thread(announce, central, "kari", "evacuate")
                assert answer.status_code == 200, answer.text
                # Screens and buzzers do not wait for the disk; the record cannot take it yet.
                await desk.wait_for(announcement("evacuate", "kari"))
                await room.sounding("evacuate")
                await until(
                    lambda: "evacuate at oslo-sentrum not stored" in central.log.read_text(),
                    "the failed write logged",
                )
                os.unlink(filler)  # the disk clears: the retry stores it
                await until(
                    lambda: "evacuate at oslo-sentrum stored at last" in central.log.read_text(),
                    "the retry stored",
                )

                central.kill()  # a power cut: what comes back is what is on disk
                central.start()
                assert [a["kind"] for a in active(central)] == ["evacuate"]
                assert room.agent.announcement == "evacuate"
                await central.wait_screens(1)  # the desk is back (its snapshot: still on)
                ended = await asyncio.to_thread(announce, central, "ola", "all_clear")
                assert ended.status_code == 200, ended.text
                await desk.wait_for(announcement("all_clear", "ola"))
                await room.silent()
            finally:
                await desk.stop()
        central.stop()
        assert stored_kinds(db) == ["evacuate", "all_clear"]
    finally:
        central.stop()
        subprocess.run(["umount", "-l", str(disk)], check=False)  # noqa: ASYNC221


async def test_an_evacuation_whose_record_a_kill_lost_ends_everywhere_and_all_clear_is_taken(
    broker: Broker, tmp_path: Path
) -> None:
    """Central killed between telling everyone and its commit: the record has no evacuation
    (the test removes the row while central is down, the window it stands for). Buzzers and
    desks follow central's truth when it is back, and "All clear" is accepted, not refused."""
    central = make_central(broker, tmp_path)
    central.start()
    try:
        async with running_edge(broker, tmp_path, SITE, "rom-101") as room:
            desk = Desk(central, "ola", tmp_path)
            await desk.start()
            try:
                answer = await asyncio.to_thread(announce, central, "kari", "evacuate")
                assert answer.status_code == 200, answer.text
                await desk.wait_for(announcement("evacuate", "kari"))
                await room.sounding("evacuate")
                central.kill()
                with sqlite3.connect(tmp_path / "central.db") as connection:
                    connection.execute("DELETE FROM announcements")
                central.start()
                assert active(central) == []
                # The edge is told "all clear" at central's link-up (its retained message too);
                # the desk's new snapshot has no evacuation: its window ends.
                await room.silent()
                dropped = await desk.wait_for(
                    lambda ln: ln["event"] == "announcement" and ln["kind"] == "all_clear"
                )
                assert (dropped["site"], dropped["by"], dropped["active"]) == (SITE, None, False)
                # "All clear" is always accepted (recorded, and told to everyone again).
                ended = await asyncio.to_thread(announce, central, "ola", "all_clear")
                assert ended.status_code == 200, ended.text
                assert ended.json() == {"site": SITE, "active": None}
                history = announcements(central, "ola")["history"]
                assert [(a["kind"], a["by"]) for a in history] == [("all_clear", "ola")]
                # A device connecting now gets "all clear" from the broker: nothing sounds.
                async with running_edge(broker, tmp_path, SITE, "rom-102") as late:
                    await late.silent()
                    assert late.changes(SOUNDER) == 1  # only its initial state
                await room.silent()
            finally:
                await desk.stop()
    finally:
        central.stop()


async def central_connected(central: Central) -> None:
    await until(lambda: central.health()["mqtt"] == "connected", "central's link back up")


async def test_a_broker_restart_gets_every_device_its_state_again(
    broker: Broker, tmp_path: Path
) -> None:
    """Mosquitto here keeps nothing across a restart (``persistence false``): the retained
    ``announce`` messages are gone with it. Central's link-up sends every device its state
    again; a change made while the broker is down goes out when it is back."""
    central = make_central(broker, tmp_path)
    central.start()
    try:
        async with running_edge(broker, tmp_path, SITE, "rom-101") as room:
            answer = await asyncio.to_thread(announce, central, "kari", "evacuate")
            assert answer.status_code == 200, answer.text
            await room.sounding("evacuate")
            broker.kill()
            broker.start()
            await central_connected(central)
            # rom-102 was never connected: what it hears is the broker's retained message,
            # or central's publish after its link-up.
            async with running_edge(broker, tmp_path, SITE, "rom-102") as late:
                await late.sounding("evacuate")
                # Down again; a lockdown meanwhile reaches every buzzer once it is back.
                broker.kill()
                locked = await asyncio.to_thread(announce, central, "kari", "lockdown")
                assert locked.status_code == 200, locked.text
                broker.start()
                await room.sounding("lockdown")
                await late.sounding("lockdown")
            assert room.agent.announcement == "lockdown"
    finally:
        central.stop()
