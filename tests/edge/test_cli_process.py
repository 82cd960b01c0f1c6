"""``trygg-edge --config`` as a real process: retained birth, last will on a crash, clean stop.

The process uses gpiozero's own mock pin factory through ``GPIOZERO_PIN_FACTORY=mock`` (the
same switch an installer uses to pick ``lgpio`` on a Pi) and takes its password from the
environment, as a deployment with secrets outside the file would.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.edge.helpers import DEVICE, DEVICE_PASSWORD, SITE, Observer
from tests.support.broker import Broker

REPO = Path(__file__).resolve().parents[2]
Agent = subprocess.Popen[bytes]


def write_config(broker: Broker, tmp_path: Path) -> Path:
    broker.add_user(DEVICE, DEVICE_PASSWORD)
    path = tmp_path / "edge.toml"
    path.write_text(
        f"""\
site = "{SITE}"
device = "{DEVICE}"
room = "Møterom 101"
heartbeat_interval_s = 1.0

[mqtt]
host = "{broker.host}"
port = {broker.port}
password = "changeme"   # refused on its own; the environment supplies the real one

[outbox]
path = "{tmp_path / "outbox.db"}"

[[buttons]]
input = "desk"
pin = 17
level = "acute"
led_pin = 27
""",
        encoding="utf-8",
    )
    return path


@pytest.fixture
def start_agent(broker: Broker, tmp_path: Path) -> Iterator[Callable[[], Agent]]:
    config = write_config(broker, tmp_path)
    procs: list[Agent] = []

    def start() -> Agent:
        env = dict(os.environ)
        env["GPIOZERO_PIN_FACTORY"] = "mock"
        env["TRYGG_EDGE_MQTT__PASSWORD"] = DEVICE_PASSWORD
        log = (tmp_path / f"agent-{len(procs)}.log").open("wb")
        proc = subprocess.Popen(
            [sys.executable, "-m", "edge", "--config", str(config)],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=log,
        )
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)


async def fresh_retained_state(broker: Broker) -> str:
    """What a subscriber arriving now is told about the device (the retained status)."""
    async with Observer(broker, "late-joiner") as late:
        await late.wait_for(lambda: bool(late.statuses()), 5, "retained status")
        retained, status = late.statuses()[0]
        assert retained, "status must be retained"
        return status.state


async def test_birth_is_retained_and_last_will_says_offline_after_a_crash(
    broker: Broker, start_agent: Callable[[], Agent], tmp_path: Path
) -> None:
    start = start_agent
    async with Observer(broker) as wire:
        agent = start()
        await wire.wait_for(
            lambda: any(s.state == "online" for _, s in wire.statuses()), 20, "online status"
        )
        online = next(s for _, s in wire.statuses() if s.state == "online")
        assert online.health is not None
        assert online.health.outputs == {"desk": "off"}
        assert await fresh_retained_state(broker) == "online"

        agent.send_signal(signal.SIGKILL)  # no DISCONNECT: the broker must publish the will
        await asyncio.to_thread(agent.wait, 10)
        await wire.wait_for(
            lambda: any(s.state == "offline" for _, s in wire.statuses()), 10, "last will"
        )
        assert await fresh_retained_state(broker) == "offline"

        # A clean stop (SIGTERM from systemd) says "offline" itself and exits 0.
        before = len(wire.statuses())
        agent = start()
        await wire.wait_for(
            lambda: any(s.state == "online" for _, s in wire.statuses()[before:]), 20, "online"
        )
        agent.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(agent.wait, 15) == 0
        await wire.wait_for(
            lambda: any(s.state == "offline" for _, s in wire.statuses()[before:]), 10, "offline"
        )
        assert await fresh_retained_state(broker) == "offline"
        assert agent.stdout is not None
        assert agent.stdout.read() == b""
    log = (tmp_path / "agent-1.log").read_text()
    assert "edge agent running site=oslo-sentrum device=rom-101 inputs=desk" in log
    assert "status offline published (clean shutdown)" in log
