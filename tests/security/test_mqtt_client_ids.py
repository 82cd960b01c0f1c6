"""Issue 10, item 2: a device's password must not take central (or another device) off the air.

The broker binds every client id to its account (``use_username_as_clientid``, as in
deploy/mosquitto/trygg.conf), so a device that connects with central's client id, or with
another device's, gets its own session instead of taking theirs over. Real Mosquitto, real
``trygg-central``.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import aiomqtt

from tests.security.helpers import alarm_payload, wait_for_alarm
from tests.support.broker import TESTER_PASSWORD, TESTER_USER, Broker
from tests.support.stack import SITE, Central

PASSWORDS = {"rom-101": "rom-101-password-0123456789", "rom-102": "rom-102-password-9876543210"}


def device(broker: Broker, name: str, identifier: str, **kwargs: object) -> aiomqtt.Client:
    return aiomqtt.Client(
        broker.host,
        broker.port,
        username=name,
        password=PASSWORDS[name],
        identifier=identifier,
        protocol=aiomqtt.ProtocolVersion.V5,
        timeout=5,
        **kwargs,  # type: ignore[arg-type]
    )


async def test_device_with_centrals_client_id_does_not_take_central_off_the_air(
    broker: Broker, tmp_path: Path
) -> None:
    for name, password in PASSWORDS.items():
        broker.add_user(name, password)
    central = Central(broker, tmp_path, {"kari": "Kari Nordmann"})
    central.start()
    central_id = re.search(r'client_id = "([^"]+)"', central.config.read_text())
    assert central_id is not None
    try:
        # rom-102 (a stolen Pi) keeps connecting as central, as fast as it is let in.
        stop = asyncio.Event()
        sessions = 0

        async def hijack() -> None:
            nonlocal sessions
            while not stop.is_set():
                try:
                    async with device(broker, "rom-102", central_id.group(1), clean_start=True):
                        sessions += 1
                        await asyncio.wait_for(stop.wait(), 0.5)
                except (aiomqtt.MqttError, TimeoutError):
                    pass

        attacker = asyncio.create_task(hijack())
        for _ in range(200):
            if sessions:
                break
            await asyncio.sleep(0.02)
        assert sessions, "the attacker never got a session"
        # Meanwhile another room raises a QoS 1 alarm, once (no resends).
        topic, payload, alarm_id = alarm_payload(SITE, "rom-101")
        async with device(broker, "rom-101", "trygg-edge-rom-101") as room:
            await room.publish(topic, payload, qos=1)
        alarm = await wait_for_alarm(central, "kari", alarm_id)
        stop.set()
        await attacker
        assert alarm["device"] == "rom-101"
        assert alarm["level"] == "acute"
        # Central was never dropped by the broker.
        assert "link to" not in central.logs(), central.logs()
        assert central.health()["mqtt"] == "connected"
    finally:
        central.stop()


async def test_device_cannot_knock_another_off_or_publish_its_offline_will(
    broker: Broker,
) -> None:
    for name, password in PASSWORDS.items():
        broker.add_user(name, password)
    status = f"trygg/v1/{SITE}/rom-101/status"
    async with (
        BrokerWatch(broker, status) as seen,
        device(broker, "rom-101", "trygg-edge-oslo-rom-101") as victim,
    ):
        will = aiomqtt.Will(status, b'{"v":1,"state":"offline"}', qos=1, retain=True)
        # rom-102 connects with rom-101's client id and a will naming rom-101's status.
        async with device(broker, "rom-102", "trygg-edge-oslo-rom-101", will=will):
            # rom-101 is still connected: its QoS 1 publish is acknowledged by the broker.
            await victim.publish(f"trygg/v1/{SITE}/rom-101/heartbeat", b"{}", qos=1)
        # The attacker's connection dropped without a DISCONNECT would fire a will; rom-101
        # is still connected and nothing claimed it is offline.
        await victim.publish(f"trygg/v1/{SITE}/rom-101/heartbeat", b"{}", qos=1)
        assert seen == [], seen


class BrokerWatch:
    """Collects every message on ``topic`` (as the tester, who may read everything)."""

    def __init__(self, broker: Broker, topic: str) -> None:
        self.client = aiomqtt.Client(
            broker.host,
            broker.port,
            username=TESTER_USER,
            password=TESTER_PASSWORD,
            identifier="tester",
        )
        self.topic = topic
        self.seen: list[bytes] = []
        self.task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> list[bytes]:
        await self.client.__aenter__()
        await self.client.subscribe(self.topic, qos=1)

        async def collect() -> None:
            async for message in self.client.messages:
                self.seen.append(bytes(message.payload))

        self.task = asyncio.create_task(collect())
        return self.seen

    async def __aexit__(self, *exc: object) -> None:
        assert self.task is not None
        self.task.cancel()
        await self.client.__aexit__(None, None, None)
