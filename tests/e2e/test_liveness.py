"""Liveness both ways, with real processes frozen by SIGSTOP: a desk notices a frozen central,
central stops counting a frozen desk as coverage, and central does not blame a healthy edge for
its own pause.

Real Mosquitto, a real ``trygg-central`` and ``trygg-desk --headless`` processes; the edge agent
runs its normal code on gpiozero mock pins. Every wait is bounded polling; what is asserted is
the state and the reason reported, and that it was reported while the other side was frozen.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect

from tests.support.broker import Broker
from tests.support.stack import SITE, Central, Desk

SILENT = "NOT receiving alarms: central not answering"


def stopped(pid: int) -> bool:
    """Whether the process is stopped by a signal right now (state T in /proc)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat.rsplit(")", 1)[1].split()[0] in ("T", "t")


async def poll(condition: Callable[[], object], what: str, within: float = 40.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


def log_text(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""


def get(central: Central, user: str, path: str) -> dict[str, Any]:
    reply = httpx.get(
        f"{central.url}{path}",
        headers={"Authorization": f"Bearer {central.tokens[user]}"},
        timeout=5,
    )
    reply.raise_for_status()
    return dict(reply.json())


async def test_a_frozen_central_is_noticed_by_the_desk_which_recovers_after(
    central: Central, tmp_path: Path
) -> None:
    desk = Desk(central, "kari", tmp_path)
    await desk.start()
    try:
        await central.wait_screens(1)
        await poll(lambda: "connected to" in log_text(desk.log), "the desk connected")
        assert central.proc is not None
        pid = central.proc.pid
        os.kill(pid, signal.SIGSTOP)
        try:
            await poll(lambda: SILENT in log_text(desk.log), "the desk saying it is not receiving")
            # Noticed by central's silence while it is still frozen: its TCP socket is open and
            # nothing has closed it; the reason is the heartbeat's, not a socket error.
            assert stopped(pid)
            said = log_text(desk.log)
            assert "nothing heard for 5 s" in said
            assert "closed the connection" not in said
        finally:
            os.kill(pid, signal.SIGCONT)
        # Central wakes up: the desk connects again by itself and is counted again.
        before = log_text(desk.log).count("connected to")
        await poll(lambda: log_text(desk.log).count("connected to") > before, "a reconnect")
        await central.wait_screens(1)
    finally:
        await desk.stop()


def with_opening_hours_always(central: Central) -> None:
    """Open all day, every day, so coverage is watched all the time."""
    text = central.config.read_text()
    named = f'name = "Site {SITE}"\n'
    assert named in text
    hours = 'opening_hours = "00:00-24:00"\nzone = "UTC"\n'
    days = 'opening_days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]\n'
    central.config.write_text(text.replace(named, named + hours + days, 1))


async def test_a_frozen_desk_is_dropped_from_coverage_and_no_screen_is_raised(
    broker: Broker, tmp_path: Path
) -> None:
    central = Central(broker, tmp_path, {"kari": "Kari Nordmann"})
    with_opening_hours_always(central)
    central.start()
    desk = Desk(central, "kari", tmp_path)
    try:
        await desk.start()
        await central.wait_screens(1)
        coverage = get(central, "kari", "/api/coverage")["sites"]
        assert coverage == [coverage[0]]
        assert coverage[0]["screens"] == 1
        assert desk.proc is not None
        os.kill(desk.proc.pid, signal.SIGSTOP)
        try:
            await poll(lambda: central.health()["screens"] == 0, "central dropping the screen")
            assert stopped(desk.proc.pid)  # frozen, socket still open: central closed it
            assert "no answer to pings" in central.logs()
            [site] = get(central, "kari", "/api/coverage")["sites"]
            assert site["screens"] == 0
            assert site["covered"] is False
            # The only screen of an open site is gone: after the grace, nobody would get an
            # alarm, and supervision says so.
            await poll(
                lambda: get(central, "kari", "/api/coverage")["sites"][0]["fault"],
                "a no_screen fault",
            )
            assert stopped(desk.proc.pid)
            assert "fault no_screen at oslo-sentrum" in central.logs()
        finally:
            os.kill(desk.proc.pid, signal.SIGCONT)
        await central.wait_screens(1)  # the desk reconnects once it runs again
    finally:
        await desk.stop()
        central.stop()


@pytest.mark.usefixtures("edge")
async def test_no_offline_fault_for_a_healthy_edge_after_central_own_pause(
    central: Central,
) -> None:
    def rom_101() -> dict[str, object]:
        devices = get(central, "kari", "/api/devices")["devices"]
        [device] = [d for d in devices if d["device"] == "rom-101"]
        return dict(device)

    await poll(lambda: rom_101()["state"] == "online", "central hearing the edge")
    # Central's ticks have begun (its pause shows as a gap between two of them): a screen's
    # pings count them.
    headers = {"Authorization": f"Bearer {central.tokens['kari']}"}
    async with connect(central.ws_url, additional_headers=headers) as ws:
        while (frame := json.loads(await asyncio.wait_for(ws.recv(), 10)))["type"] != "ping":
            pass
        while frame["type"] != "ping" or frame["seq"] < 2:
            frame = json.loads(await asyncio.wait_for(ws.recv(), 10))
    assert central.proc is not None
    pid = central.proc.pid
    os.kill(pid, signal.SIGSTOP)
    try:
        # Frozen for 9 s (the fault's length, not a measurement) while the edge goes on
        # heartbeating every second: three times the three intervals that make it "offline",
        # and three times the gap (3 s) by which central knows it was paused itself.
        await asyncio.sleep(9)
        assert stopped(pid)
    finally:
        os.kill(pid, signal.SIGCONT)
        woke = datetime.now(UTC)
    # Central notices its own pause, hears the edge again, and blames nobody.
    await poll(lambda: "central itself was paused" in central.logs(), "central noticing")
    await poll(
        lambda: datetime.fromisoformat(str(rom_101()["last_seen"])) > woke,
        "a heartbeat heard after the pause",
    )
    device = rom_101()
    assert device["state"] == "online"
    assert device["faults"] == []
    assert "fault offline" not in central.logs()
