"""The MQTT link: device state is kept, and the link comes back after the broker restarts."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

from protocol import (
    EventMessage,
    HeartbeatMessage,
    Message,
    SelftestResultMessage,
    StatusMessage,
    encode,
)
from protocol.messages import CheckResult, Health
from tests.central.helpers import (
    SITE,
    alarm_message,
    get_json,
    make_settings,
    mqtt_tester,
    next_ack,
    publish,
    serve,
    until,
)
from tests.support.broker import Broker


async def test_device_messages_are_kept_per_device(broker: Broker, tmp_path: Path) -> None:
    now = datetime.now(UTC)
    device = {"site": SITE, "device": "rom-101"}
    messages: list[Message] = [
        StatusMessage(**device, state="online", at=now),
        HeartbeatMessage(**device, at=now, interval_s=10, health=Health(outbox_pending=2)),
        EventMessage(**device, at=now, room="Møterom 101", sensor="door", kind="door", value=1),
        SelftestResultMessage(
            **device, run_id=uuid4(), at=now, results=(CheckResult(name="led", ok=True),)
        ),
    ]
    async with serve(make_settings(broker, tmp_path)) as running, mqtt_tester(broker) as edge:
        for message in messages:
            topic, payload = encode(message)
            await edge.publish(topic, payload, qos=1)
        devices = running.central.link.devices
        await until(
            lambda: (d := devices.get(SITE, "rom-101")) is not None and d.last_selftest is not None,
            what="the device's messages",
        )
        state = devices.get(SITE, "rom-101")
        assert state is not None
        assert len(devices) == 1
        assert state.status == messages[0]
        assert state.heartbeat == messages[1]
        assert state.last_event == messages[2]
        assert state.last_selftest == messages[3]
        assert state.heartbeat.health.outbox_pending == 2


async def test_link_reconnects_after_the_broker_restarts(broker: Broker, tmp_path: Path) -> None:
    async with serve(make_settings(broker, tmp_path)) as running:
        link = running.central.link
        broker.stop()
        await until(lambda: not link.connected, what="the link to notice")
        assert (await get_json(running, "/healthz"))["mqtt"] == "disconnected"
        broker.start()  # without persistence: central's subscriptions must be made again
        await until(lambda: link.connected, within=15, what="the link to come back")
        async with mqtt_tester(broker) as edge:
            await edge.subscribe(f"trygg/v1/{SITE}/rom-101/ack", qos=1)
            message = alarm_message()
            await publish(edge, message)
            assert (await next_ack(edge, alarm_id=str(message.alarm_id)))["state"] == "received"
