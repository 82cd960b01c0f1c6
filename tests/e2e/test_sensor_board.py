"""Issue 3 on real processes: the simulated sensor board on a pty, an unchanged `trygg-edge`
process reading it, central and a headless desk. A pendant press is an alarm; tamper and
unplug/replug show in the device's retained status and recover without a restart."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiomqtt
import pytest

from firmware_sim.board import Board
from tests.support.broker import TESTER_PASSWORD, TESTER_USER, Broker
from tests.support.stack import SITE, Desk, edge_config, script

DEVICE = "rom-101"


class StatusWatch:
    """Every retained/live status the edge publishes, as a test client sees it on the wire."""

    def __init__(self, broker: Broker) -> None:
        self.broker = broker
        self.seen: list[dict[str, Any]] = []
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> StatusWatch:
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task
        self._task.cancel()

    async def _run(self) -> None:
        async with aiomqtt.Client(
            self.broker.host, self.broker.port, username=TESTER_USER, password=TESTER_PASSWORD
        ) as client:
            await client.subscribe(f"trygg/v1/{SITE}/{DEVICE}/status", qos=1)
            async for message in client.messages:
                self.seen.append(json.loads(bytes(message.payload)))
                self._changed.set()

    async def wait(self, match: Callable[[dict[str, Any]], bool], timeout: float = 20) -> None:
        async def scan() -> None:
            while not (self.seen and match(self.seen[-1])):
                self._changed.clear()
                await self._changed.wait()

        try:
            await asyncio.wait_for(scan(), timeout)
        except TimeoutError:
            raise AssertionError(f"status never matched; last: {self.seen[-3:]}") from None


def faults(status: dict[str, Any]) -> set[str]:
    return set((status.get("health") or {}).get("faults", []))


@pytest.fixture
async def board_edge(broker: Broker, tmp_path: Path) -> AsyncIterator[Board]:
    board = Board(DEVICE, tmp_path)
    board.start()
    config = edge_config(tmp_path, broker, DEVICE)
    config.write_text(
        config.read_text() + f'[sensor_board]\nport = "{board.link}"\n'
        "silence_s = 3.0\nreopen_s = 0.2\n"
    )
    with (tmp_path / "edge.log").open("ab") as log:
        edge = await asyncio.create_subprocess_exec(
            script("trygg-edge"),
            "--config",
            str(config),
            stdout=log,
            stderr=log,
            env={**os.environ, "GPIOZERO_PIN_FACTORY": "mock"},
        )
    try:
        # Until the edge has the port open, what the board says reaches nobody.
        for _ in range(200):
            if board.status()["host_open"]:
                break
            await asyncio.sleep(0.05)
        assert board.status()["host_open"], (tmp_path / "edge.log").read_text()[-2000:]
        yield board
    finally:
        edge.terminate()
        await asyncio.wait_for(edge.wait(), 10)
        board.stop()


@pytest.mark.usefixtures("central")
async def test_pendant_press_reaches_the_desk(desks: dict[str, Desk], board_edge: Board) -> None:
    board = board_edge
    board.call(lambda: board.do_pendant("p-7", 64, "PRESS"))
    alarm = await desks["kari"].wait_for(lambda ln: ln["event"] == "alarm", timeout=20)
    assert (alarm["source"], alarm["input"], alarm["level"]) == ("sensor", "p-7", "acute")
    assert alarm["device"] == DEVICE


async def test_tamper_and_unplug_show_in_status_and_recover(
    broker: Broker, board_edge: Board
) -> None:
    board = board_edge
    async with StatusWatch(broker) as status:
        await status.wait(lambda s: s["state"] == "online" and not faults(s))
        board.call(lambda: board.do_tamper(True))
        await status.wait(lambda s: "sensor-board-tamper" in faults(s))
        board.call(lambda: board.do_tamper(False))
        await status.wait(lambda s: "sensor-board-tamper" not in faults(s))

        first = board.status()["generation"]
        board.call(board.do_unplug)
        await status.wait(lambda s: "sensor-board-unplugged" in faults(s))
        board.call(board.do_replug)
        await status.wait(lambda s: s["state"] == "online" and not faults(s))
        # A new pty (the kernel may reuse its number), opened again by the edge on its own.
        for _ in range(100):
            after = board.status()
            if after["host_open"]:
                break
            await asyncio.sleep(0.05)
        assert after["generation"] == first + 1
        assert after["host_open"]
