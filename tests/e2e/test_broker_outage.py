"""Central's broker link down is the broker's fault, not the devices': with Mosquitto killed -9
for a while and started again on the same port, a healthy edge is never reported offline; one
``broker_unreachable`` fault tells the facility manager that no device alarm reaches central
while it lasts, and it clears when the link is back.

Real processes: Mosquitto configured as deploy/ (persistence on, so the restarted broker brings
back the retained statuses: what each device last published, Mosquitto publishes no wills of
its own on a restart), ``trygg-central``, a ``trygg-edge`` process heartbeating every second,
and a facility manager's ``trygg-desk --headless``. Every wait is bounded polling; the
outage's length is the fault's, not a measurement.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from central.core.supervision import RESUME_GRACE
from tests.support.broker import Broker
from tests.support.sim_edge import SimEdge
from tests.support.stack import SITE, Central, Desk

DOWN_S = 8.0  # how long the broker stays dead
FM = "frida"


@pytest.fixture
def persistent_broker(tmp_path: Path) -> Iterator[Broker]:
    broker = Broker(tmp_path / "broker")
    conf = broker.conf.read_text()
    assert "persistence false\n" in conf
    broker.conf.write_text(
        conf.replace(
            "persistence false\n",
            f"persistence true\npersistence_location {broker.dir}/\nautosave_interval 1\n",
        )
    )
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


def devices(central: Central) -> dict[str, Any]:
    reply = httpx.get(
        f"{central.url}/api/devices",
        headers={"Authorization": f"Bearer {central.tokens[FM]}"},
        timeout=5,
    )
    reply.raise_for_status()
    return dict(reply.json())


async def watch_devices(central: Central, seen: list[dict[str, Any]]) -> None:
    """Central's view of the devices every 0.2 s, for as long as the test runs."""
    while True:
        with contextlib.suppress(httpx.HTTPError):  # central busy for a moment: next time
            seen.append(await asyncio.to_thread(devices, central))
        await asyncio.sleep(0.2)


def offline_seen(seen: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        d
        for found in seen
        for d in found["devices"]
        if d["state"] != "online" or any(f["kind"] == "offline" for f in d["faults"])
    ]


def heard_after(found: dict[str, Any], moment: datetime) -> bool:
    """Central's view of the devices says it heard rom-101 after ``moment``."""
    last = [d["last_seen"] for d in found["devices"] if d["device"] == "rom-101"]
    return bool(last) and last[0] is not None and datetime.fromisoformat(last[0]) > moment


def saved_online(broker: Broker) -> bool:
    """The broker's persistence file holds the edge's retained "online" status."""
    saved = broker.dir / "mosquitto.db"
    data = saved.read_bytes() if saved.exists() else b""
    return f"trygg/v1/{SITE}/rom-101/status".encode() in data and b'"online"' in data


async def poll(condition: Any, what: str, within: float = 30.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not await asyncio.to_thread(condition):
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.2)


async def test_a_broker_restart_blames_the_broker_once_and_no_device(
    persistent_broker: Broker, tmp_path: Path
) -> None:
    broker = persistent_broker
    central = Central(broker, tmp_path, {FM: "Frida Drift"}, roles={FM: ("facility_manager",)})
    central.start()
    edge = SimEdge(broker, tmp_path)
    desk = Desk(central, FM, tmp_path)
    seen: list[dict[str, Any]] = []
    watcher: asyncio.Task[None] | None = None
    try:
        await asyncio.to_thread(edge.start)
        await desk.start()
        await central.wait_screens(1)

        def rom_101() -> dict[str, Any]:
            found: list[dict[str, Any]] = devices(central)["devices"]
            [device] = [d for d in found if d["device"] == "rom-101"]
            return device

        await poll(lambda: rom_101()["state"] == "online", "central hearing the edge")
        await poll(lambda: saved_online(broker), "the broker's autosave holding the edge's status")
        watcher = asyncio.create_task(watch_devices(central, seen))

        broker.kill()
        raised = await desk.wait_for(
            lambda line: line.get("event") == "fault" and line["kind"] == "broker_unreachable",
            timeout=DOWN_S,
        )
        assert broker.proc is not None
        assert broker.proc.poll() is not None
        assert (raised["site"], raised["device"], raised["cleared"]) == (SITE, "", False)
        assert "no alarm from any device reaches central" in raised["reason"]
        await asyncio.sleep(DOWN_S)
        broker.start()
        back = datetime.now(UTC)
        cleared = await desk.wait_for(
            lambda line: (
                line.get("event") == "fault"
                and line["kind"] == "broker_unreachable"
                and line["cleared"]
            ),
            timeout=30,
        )
        assert (cleared["site"], cleared["device"]) == (SITE, "")
        await poll(
            lambda: datetime.fromisoformat(str(rom_101()["last_seen"])) > back,
            "a heartbeat heard after the broker's restart",
        )
        # Past the fresh grace central gives every device after its link is back: a device
        # blamed for the outage would be offline by then. The marker is observed, not slept:
        # the watch has seen central hear the edge after the grace's end and one heartbeat
        # more (central's ticks, every 0.5 s, have judged the device past it).
        await poll(lambda: "mqtt link back after" in central.logs(), "central noticing")
        past = datetime.now(UTC) + RESUME_GRACE + timedelta(seconds=1)  # the grace began before
        await poll(
            lambda: bool(seen) and heard_after(seen[-1], past),
            "the watch seeing central hear the edge past its fresh grace",
        )
        assert offline_seen(seen) == []
        assert len(seen) > 50  # the watch really ran throughout
        device = rom_101()
        assert device["state"] == "online"
        assert device["faults"] == []
        faults = [line for line in desk.lines if line.get("event") == "fault"]
        assert [(f["kind"], f["cleared"]) for f in faults] == [
            ("broker_unreachable", False),
            ("broker_unreachable", True),
        ]
        assert "fault offline" not in central.logs()
        assert devices(central)["site_faults"] == []
    finally:
        if watcher is not None:
            watcher.cancel()
        await desk.stop()
        await asyncio.to_thread(edge.stop)
        central.stop()
