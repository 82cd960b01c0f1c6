"""Shared helpers for central's tests: settings, a real uvicorn server, screens, an MQTT tester."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import aiomqtt
import httpx
import uvicorn
from websockets.asyncio.client import ClientConnection, connect

from central.cli import server_config
from central.config import CentralSettings
from central.service import Central
from protocol import AlarmLevel, AlarmMessage, AlarmSource, encode
from protocol.screen import Ping, Pong, decode_server_frame, encode_frame
from tests.support.broker import CENTRAL_PASSWORD, TESTER_PASSWORD, TESTER_USER, Broker
from tests.support.net import free_port

SITE = "oslo-sentrum"
OTHER_SITE = "bergen"
KARI = "kari-token-7f3c9a1e5b2d8f4a6c0e"  # oslo-sentrum
OLA = "ola-token-2b8e4f6a1c9d3e7f5a0b8"  # every site
PER = "per-token-9d1c7e3b5a2f8e6d4c0a"  # bergen only


def make_settings(
    broker: Broker, tmp: Path, *, client_id: str = "trygg-central"
) -> CentralSettings:
    return CentralSettings.model_validate(
        {
            "mqtt": {
                "host": broker.host,
                "port": broker.port,
                "username": "central",
                "password": CENTRAL_PASSWORD,
                "client_id": client_id,
            },
            "http": {"host": "127.0.0.1", "port": free_port()},
            "store": {"path": str(tmp / "central.db")},
            # No [[devices]]: these tests name devices freely, so they opt in to an open one.
            "registry": {"open": True},
            "sites": [{"id": SITE, "name": "Oslo"}, {"id": OTHER_SITE, "name": "Bergen"}],
            "users": [
                {"id": "kari", "name": "Kari Nordmann", "token": KARI, "sites": [SITE]},
                {"id": "ola", "name": "Ola Nordmann", "token": OLA, "sites": ["*"]},
                {"id": "per", "name": "Per Hansen", "token": PER, "sites": [OTHER_SITE]},
            ],
        }
    )


@dataclass
class Running:
    settings: CentralSettings
    server: uvicorn.Server

    @property
    def central(self) -> Central:
        central: Central = self.server.config.loaded_app.app.state.central
        return central

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.settings.http.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.settings.http.port}/ws"


@asynccontextmanager
async def serve(settings: CentralSettings, **overrides: Any) -> AsyncIterator[Running]:
    """Central on a real uvicorn server in this event loop, as ``trygg-central`` serves it."""
    config = server_config(settings)
    for key, value in overrides.items():
        setattr(config, key, value)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        await until(lambda: server.started or task.done(), what="uvicorn to start")
        assert server.started, "central did not start"
        running = Running(settings, server)
        await until(lambda: running.central.link.connected, what="central's MQTT link")
        yield running
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 15)


async def until(
    condition: Callable[[], object], *, within: float = 10.0, what: str = "condition"
) -> None:
    """Bounded polling: return as soon as ``condition()`` is true."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


@asynccontextmanager
async def screen(running: Running, token: str) -> AsyncIterator[ClientConnection]:
    headers = {"Authorization": f"Bearer {token}"}
    async with connect(running.ws, additional_headers=headers, open_timeout=5) as ws:
        yield ws


async def next_frame(ws: ClientConnection, within: float = 10.0) -> Any:
    """The next frame but central's heartbeat ``ping``, which is answered as a desk does."""
    while True:
        frame = decode_server_frame(await asyncio.wait_for(ws.recv(), within))
        if not isinstance(frame, Ping):
            return frame
        await ws.send(encode_frame(Pong(seq=frame.seq)))


async def frame_of(ws: ClientConnection, kind: type, within: float = 10.0, **match: Any) -> Any:
    """The next frame of type ``kind`` whose alarm matches ``match`` (skipping others)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        frame = await next_frame(ws, max(0.01, deadline - loop.time()))
        if not isinstance(frame, kind):
            continue
        alarm = getattr(frame, "alarm", None)
        if all(getattr(alarm, k, None) == v for k, v in match.items()):
            return frame


def alarm_message(
    device: str = "rom-101", site: str = SITE, alarm_id: UUID | None = None, presses: int = 1
) -> AlarmMessage:
    return AlarmMessage(
        site=site,
        device=device,
        alarm_id=alarm_id or uuid4(),
        level=AlarmLevel.ACUTE,
        room="Møterom 101",
        source=AlarmSource.BUTTON,
        input="desk",
        raised_at=datetime.now(UTC),
        presses=presses,
    )


@asynccontextmanager
async def mqtt_tester(broker: Broker) -> AsyncIterator[aiomqtt.Client]:
    """An MQTT client that may publish anywhere (a device, or a hostile client)."""
    async with aiomqtt.Client(
        broker.host,
        broker.port,
        username=TESTER_USER,
        password=TESTER_PASSWORD,
        protocol=aiomqtt.ProtocolVersion.V5,
        identifier=f"tester-{uuid4().hex[:8]}",
    ) as client:
        yield client


async def publish(client: aiomqtt.Client, message: AlarmMessage) -> None:
    topic, payload = encode(message)
    await client.publish(topic, payload, qos=1)


async def next_ack(client: aiomqtt.Client, within: float = 10.0, **match: Any) -> dict[str, Any]:
    """The next ack on a subscribed ack topic whose JSON fields match ``match``."""
    async with asyncio.timeout(within):
        async for message in client.messages:
            data: dict[str, Any] = json.loads(bytes(message.payload))
            if all(data.get(k) == v for k, v in match.items()):
                return data
    raise AssertionError("message stream ended")


async def get_json(running: Running, path: str, token: str | None = None) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient(base_url=running.http, timeout=10) as client:
        response = await client.get(path, headers=headers)
        response.raise_for_status()
        return response.json()
