from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from gpiozero.pins.mock import MockFactory

from configfile import load_settings
from edge.agent import EdgeAgent
from edge.config import EdgeSettings
from tests.support.agent_waits import wait_connected, wait_ready
from tests.support.broker import Broker
from tests.support.stack import Central, Desk, edge_config, running_desks

USERS = {"kari": "Kari Nordmann", "ola": "Ola Hansen"}


@pytest.fixture
def central(broker: Broker, tmp_path: Path) -> Iterator[Central]:
    c = Central(broker, tmp_path, USERS)
    c.start()
    try:
        yield c
    finally:
        c.stop()


@pytest.fixture
async def desks(central: Central, tmp_path: Path) -> AsyncIterator[dict[str, Desk]]:
    async with running_desks(central, USERS, tmp_path) as started:
        yield started


class RunningEdge:
    def __init__(self, agent: EdgeAgent, pins: MockFactory) -> None:
        self.agent = agent
        self.pins = pins
        self._released: dict[int, float] = {}  # pin -> monotonic time its contact last opened

    def press(self, pin: int = 17) -> None:
        """A short press of a pull-up button: the contact closes to ground, then opens.

        As a person presses: never within the bounce window after the previous release of the
        same button. A closing that soon IS contact bounce, and the edge rightly ignores it
        (edge.core.press; tests/edge/test_press_policy.py), so a test whose steps run in a few
        milliseconds would otherwise lose its second press to the debounce, not to a bug.
        """
        bounce_s = max(b.bounce_ms for b in self.agent.settings.buttons) / 1000
        released = self._released.get(pin)
        if released is not None:
            time.sleep(max(0.0, released + 2 * bounce_s - time.monotonic()))
        self.pins.pin(pin).drive_low()
        self.pins.pin(pin).drive_high()
        self._released[pin] = time.monotonic()


@pytest.fixture
async def edge(broker: Broker, tmp_path: Path) -> AsyncIterator[RunningEdge]:
    settings = load_settings(EdgeSettings, edge_config(tmp_path, broker))
    pins = MockFactory()
    agent = EdgeAgent(settings, pin_factory=pins)
    task = asyncio.create_task(agent.run())
    await wait_ready(agent, timeout=10)
    await wait_connected(agent, timeout=10)
    try:
        yield RunningEdge(agent, pins)
    finally:
        agent.stop()
        await asyncio.wait_for(task, 15)
        pins.close()
