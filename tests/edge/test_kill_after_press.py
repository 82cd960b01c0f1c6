"""A power cut right after a press, with the button still held when the edge comes back.

Real processes: ``trygg-edge`` on the simulator's pins (``tests.edge.held_pin_edge``), killed
with SIGKILL within a millisecond or so of the contact closing, then started again on the same
outbox with the contact still closed. Whether the first process got its publish or its outbox
row out before it died is up to the race; either way the alarm must reach the broker exactly
once: under the id pre-allocated for the input before the press.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from uuid import UUID

import pytest

from firmware_sim.control import request
from protocol import AckState, HeldState
from tests.edge.helpers import DEVICE_PASSWORD, Observer, central_ack
from tests.edge.test_cli_process import REPO, write_config
from tests.support.broker import Broker

Agent = subprocess.Popen[bytes]


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """A Unix socket path must stay under ~100 bytes; pytest's tmp_path may not."""
    with tempfile.TemporaryDirectory(prefix="trygg-kill-") as path:
        yield Path(path)


def spawn(config: Path, log: Path, control: Path, held: str = "") -> Agent:
    env = dict(os.environ)
    env["TRYGG_EDGE_MQTT__PASSWORD"] = DEVICE_PASSWORD
    env["TRYGG_SIM_CONTROL"] = str(control)
    env["TRYGG_TEST_HELD_PINS"] = held
    env.pop("GPIOZERO_PIN_FACTORY", None)
    return subprocess.Popen(
        [sys.executable, "-m", "tests.edge.held_pin_edge", "--config", str(config)],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
    )


def preallocated(outbox: Path, input_name: str) -> UUID:
    """The input's next alarm id, read from the outbox file without writing to it."""
    with sqlite3.connect(f"file:{outbox}?mode=ro", uri=True) as db:
        row = db.execute(
            "SELECT next_alarm_id FROM inputs WHERE input = ?", [input_name]
        ).fetchone()
    db.close()
    assert row is not None, f"no pre-allocated id for {input_name}"
    return UUID(row[0])


def hold_then_kill(control: Path, agent: Agent) -> None:
    """Close the contact and cut the power right after (one thread: no loop in between)."""
    request(control, cmd="hold", pin=17)
    agent.send_signal(signal.SIGKILL)


async def test_a_press_cut_short_is_raised_once_when_the_edge_comes_back_held(
    broker: Broker, tmp_path: Path, short_dir: Path
) -> None:
    config = write_config(broker, tmp_path)
    outbox = tmp_path / "outbox.db"
    procs: list[Agent] = []
    try:
        async with Observer(broker) as wire:
            first = spawn(config, tmp_path / "first.log", short_dir / "first.sock")
            procs.append(first)
            await wire.wait_for(
                lambda: any(s.state == "online" for _, s in wire.statuses()), 20, "online"
            )
            expected = preallocated(outbox, "desk")
            await asyncio.to_thread(hold_then_kill, short_dir / "first.sock", first)
            await asyncio.to_thread(first.wait, 10)
            before = {a.alarm_id for a in wire.alarms()}
            assert before <= {expected}  # if it got out, it went out under the stored id

            online = len(wire.statuses())
            second = spawn(
                config, tmp_path / "second.log", short_dir / "second.sock", held="GPIO17"
            )
            procs.append(second)
            await wire.wait_for(
                lambda: any(s.state == "online" for _, s in wire.statuses()[online:]),
                20,
                "online again",
            )
            alarm = await wire.wait_alarm(lambda a: a.input == "desk", 20)
            assert alarm.alarm_id == expected
            await central_ack(broker, expected, AckState.RECEIVED, presses=1)
            # The restarted edge holds it as its alarm: central's ack reaches its LED.
            await wire.wait_for(
                lambda: any(
                    [(a.alarm_id, a.state) for a in h.health.alarms]
                    == [(expected, HeldState.RECEIVED)]
                    for h in wire.heartbeats()
                ),
                20,
                "heartbeat holding the alarm as received",
            )
            desk = [a for a in wire.alarms() if a.input == "desk"]
            assert {a.alarm_id for a in desk} == {expected}  # copies, never a second alarm
            assert {a.presses for a in desk} == {1}
            second.send_signal(signal.SIGTERM)
            assert await asyncio.to_thread(second.wait, 15) == 0
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait(10)
    log = (tmp_path / "second.log").read_text()
    # Either the outbox row survived (restored and resent) or the held contact raised it.
    assert "reason=held_at_start" in log or "outbox restored alarm_id" in log, log
    assert "stuck" not in log
