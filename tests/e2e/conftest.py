from __future__ import annotations

import asyncio
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

    def press(self, pin: int = 17) -> None:
        """A short press of a pull-up button: the contact closes to ground, then opens."""
        self.pins.pin(pin).drive_low()
        self.pins.pin(pin).drive_high()


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
