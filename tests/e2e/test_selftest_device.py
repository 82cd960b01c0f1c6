"""Device self-tests on real processes: ``trygg-central`` and Mosquitto, with the edge agent
on gpiozero's mock pins (in-process) or as a ``trygg-edge`` process.

A self-test is started with "run now" (``POST /api/schedules/{id}/run``): no test waits for a
wall-clock slot. Each asserts the run's result in the test log and the reason it gives.
"""

from __future__ import annotations

import asyncio
import binascii
import csv
import io
import json
import os
import re
import signal
import subprocess
import tty
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from gpiozero.pins.mock import MockFactory
from websockets.asyncio.client import ClientConnection

from configfile import load_settings
from edge.agent import EdgeAgent
from edge.config import EdgeSettings
from tests.support.agent_waits import wait_connected, wait_for, wait_ready
from tests.support.broker import Broker
from tests.support.selftest_stack import MANAGER, SelftestCentral
from tests.support.stack import SITE, edge_config, script

DAILY = "daily-device-selftest"
DEVICE_CHECKS = {"inputs", "outputs", "sensor_board", "outbox", "clock", "disk", "broker"}


@pytest.fixture
def central(broker: Broker, tmp_path: Path) -> Iterator[SelftestCentral]:
    c = SelftestCentral(broker, tmp_path)
    c.start()
    try:
        yield c
    finally:
        c.stop()


@asynccontextmanager
async def running_edge(config: Path) -> AsyncIterator[tuple[EdgeAgent, MockFactory]]:
    pins = MockFactory()
    agent = EdgeAgent(load_settings(EdgeSettings, config), pin_factory=pins)
    task = asyncio.create_task(agent.run())
    try:
        await wait_ready(agent, timeout=10)
        await wait_connected(agent, timeout=10)
        yield agent, pins
    finally:
        agent.stop()
        await asyncio.wait_for(task, 15)
        pins.close()


def with_tables(config: Path, extra: str) -> Path:
    config.write_text(config.read_text() + extra)
    return config


async def test_healthy_edge_passes_and_the_csv_has_one_row_per_check(
    central: SelftestCentral, broker: Broker, tmp_path: Path
) -> None:
    async with running_edge(edge_config(tmp_path, broker)):
        await central.device_online("rom-101")
        [run_id] = central.run_schedule(DAILY)
        run = await central.finished_run(run_id)
    assert run["result"] == "passed", run
    assert run["kind"] == "device_selftest"
    assert run["device"] == "rom-101"
    assert run["trigger"] == "manual"
    assert run["tester"] == MANAGER
    checks = {c["name"]: c for c in run["checks"]}
    assert set(checks) == DEVICE_CHECKS
    assert all(c["ok"] for c in checks.values())
    assert abs(checks["clock"]["value"]) < 2000
    assert checks["broker"]["value"] is not None
    assert checks["sensor_board"]["detail"] == "no sensor board"

    # The log lists it with filters, and exports it one row per check.
    assert [
        r["run_id"] for r in central.api("GET", "/api/tests", params={"result": "passed"})["runs"]
    ] == [run_id]
    assert central.api("GET", "/api/tests", params={"result": "failed"})["runs"] == []
    text = central.api("GET", "/api/tests.csv", params={"kind": "device_selftest"})
    assert text.startswith("\ufeff")  # Excel reads UTF-8 (æøå) only with the BOM
    rows = list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))
    assert {r["check"] for r in rows} == DEVICE_CHECKS
    assert len(rows) == len(DEVICE_CHECKS)
    assert {r["run_id"] for r in rows} == {run_id}
    assert {r["ok"] for r in rows} == {"yes"}
    # Tested today: not overdue; the site's weekly test alarm never ran: overdue.
    overdue = central.api("GET", "/api/tests/overdue")["overdue"]
    assert {(o["kind"], o["device"]) for o in overdue} >= {("e2e_test_alarm", "")}
    assert not any(o["kind"] == "device_selftest" for o in overdue)


async def test_a_stuck_button_fails_with_its_name(
    central: SelftestCentral, broker: Broker, tmp_path: Path
) -> None:
    config = with_tables(edge_config(tmp_path, broker), "[selftest]\nstuck_after_s = 0.3\n")
    async with running_edge(config) as (agent, pins):
        await central.device_online("rom-101")
        pins.pin(17).drive_low()  # the desk button is held closed and stays closed
        await wait_for(agent, lambda: "input desk stuck closed" in agent.faults, 10, "stuck")
        [run_id] = central.run_schedule(DAILY)
        run = await central.finished_run(run_id)
        # Supervision shows it as a fault of the device, too.
        devices = await central.poll(
            lambda: central.api("GET", "/api/devices")["devices"],
            lambda ds: any(f["kind"] == "stuck_input" for d in ds for f in d["faults"]),
        )
    assert run["result"] == "failed"
    inputs = next(c for c in run["checks"] if c["name"] == "inputs")
    assert not inputs["ok"]
    assert "desk stuck closed" in inputs["detail"]
    assert "inputs: desk stuck closed" in run["reason"]
    assert devices[0]["faults"][0]["reason"] == "input desk stuck closed"


def pong_line(seq: int, token: str) -> bytes:
    """The board's answer, with a CRC computed here (CRC-16/CCITT-FALSE, as the board does)."""
    body = f"{seq},PONG,{token}".encode()
    return b"$%s*%04X\n" % (body, binascii.crc_hqx(body, 0xFFFF))


class PlayedBoard:
    """The board's end of a real pty: answers every PING with a PONG."""

    def __init__(self, link: Path) -> None:
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        link.symlink_to(os.ttyname(self.slave))
        self.link = link
        self._buffer = b""
        self.pings = 0
        asyncio.get_running_loop().add_reader(self.master, self._readable)

    def _readable(self) -> None:
        try:
            self._buffer += os.read(self.master, 1024)
        except OSError:
            return
        while b"\n" in self._buffer:
            frame, _, self._buffer = self._buffer.partition(b"\n")
            found = re.match(rb"\$(\d+),PING,([A-Za-z0-9]+)\*", frame)
            if found:
                self.pings += 1
                os.write(self.master, pong_line(self.pings, found.group(2).decode()))

    def unplug(self) -> None:
        """The board's end goes away, and its device node with it."""
        asyncio.get_running_loop().remove_reader(self.master)
        os.close(self.master)
        os.close(self.slave)
        self.link.unlink()


async def test_an_unplugged_sensor_board_fails_its_ping(
    central: SelftestCentral, broker: Broker, tmp_path: Path
) -> None:
    board = PlayedBoard(tmp_path / "board")
    config = with_tables(
        edge_config(tmp_path, broker), f'[sensor_board]\nport = "{board.link}"\nreopen_s = 0.2\n'
    )
    async with running_edge(config) as (agent, _):
        await central.device_online("rom-101")
        sensors = agent.sensors
        assert sensors is not None
        await wait_for(agent, lambda: sensors.connected, 10, "board port open")
        # Plugged in, the board answers its PING.
        [plugged_id] = central.run_schedule(DAILY)
        plugged = await central.finished_run(plugged_id)
        board_check = next(c for c in plugged["checks"] if c["name"] == "sensor_board")
        assert plugged["result"] == "passed", plugged
        assert board_check["ok"]
        assert board_check["value"] is not None
        assert board.pings == 1
        board.unplug()
        await wait_for(agent, lambda: not sensors.connected, 10, "board lost")
        [run_id] = central.run_schedule(DAILY)
        run = await central.finished_run(run_id)
    assert run["result"] == "failed"
    board = next(c for c in run["checks"] if c["name"] == "sensor_board")
    assert not board["ok"]
    assert "no PONG within 1 s" in board["detail"]
    others = [c for c in run["checks"] if c["name"] != "sensor_board"]
    assert all(c["ok"] for c in others), others


def edge_process(config: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "GPIOZERO_PIN_FACTORY": "mock"}
    with log.open("ab") as out:
        return subprocess.Popen(
            [script("trygg-edge"), "--config", str(config)],
            stdout=out,
            stderr=out,
            stdin=subprocess.DEVNULL,
            env=env,
        )


async def test_a_silent_edge_fails_with_no_answer(
    central: SelftestCentral, broker: Broker, tmp_path: Path
) -> None:
    edge = edge_process(edge_config(tmp_path, broker), tmp_path / "edge.log")
    try:
        await central.device_online("rom-101")
        edge.send_signal(signal.SIGSTOP)  # frozen: connected as far as the broker knows
        [run_id] = central.run_schedule(DAILY, deadline_s=1.5)
        run = await central.finished_run(run_id)
    finally:
        edge.send_signal(signal.SIGKILL)
        edge.wait()
    assert run["result"] == "failed"
    assert run["reason"] == "no answer"
    assert [(c["name"], c["ok"], c["detail"]) for c in run["checks"]] == [
        ("answer", False, "no answer")
    ]


async def test_a_killed_edge_is_offline_for_the_facility_manager(
    central: SelftestCentral, broker: Broker, tmp_path: Path
) -> None:
    edge = edge_process(edge_config(tmp_path, broker), tmp_path / "edge.log")
    try:
        await central.device_online("rom-101")
        console = await central.screen(MANAGER)
        kari = await central.screen("kari")  # a responder gets no fault frames
        edge.send_signal(signal.SIGKILL)  # the broker publishes its last will at once
        edge.wait()

        async def fault() -> dict[str, object]:
            while True:
                frame = json.loads(await console.recv())
                if frame["type"] == "fault":
                    return dict(frame)

        # The requirement: within 5 s of the will. The will goes out when the socket closes.
        frame = await asyncio.wait_for(fault(), 5)
        assert (frame["site"], frame["device"], frame["kind"]) == (SITE, "rom-101", "offline")
        assert frame["cleared"] is False
        assert "last will" in str(frame["reason"])
        [device] = central.api("GET", "/api/devices")["devices"]
        assert device["state"] == "offline"
        assert device["faults"][0]["kind"] == "offline"
        # kari's screen got no fault: after the snapshot, the next frame is the answer to a
        # bad frame sent only now (a fault frame, had there been one, would come before it).
        assert json.loads(await kari.recv())["type"] == "snapshot"
        await kari.send("not json")
        assert (await not_ping(kari))["type"] == "error"
        # A facility manager who connects now is told of the open fault after the snapshot.
        late = await central.screen(MANAGER)
        assert json.loads(await late.recv())["type"] == "snapshot"
        told = await not_ping(late)
        assert (told["type"], told["device"], told["kind"]) == ("fault", "rom-101", "offline")
        for socket in (console, kari, late):
            await socket.close()
    finally:
        if edge.poll() is None:
            edge.kill()
            edge.wait()


async def not_ping(socket: ClientConnection) -> dict[str, object]:
    """The next frame but central's heartbeat ``ping`` (docs/protocol.md, Screens)."""
    while (frame := json.loads(await asyncio.wait_for(socket.recv(), 5)))["type"] == "ping":
        pass
    return dict(frame)
