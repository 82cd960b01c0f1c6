"""The MQTT link: device state is kept, the link comes back after the broker restarts, and
a device's ``announce`` is never dropped from the outgoing queue (the latest per device)."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID, uuid4

from central.link.mqtt import MAX_PENDING_ACKS, MqttLink
from protocol import (
    AnnouncementKind,
    AnnounceMessage,
    EventMessage,
    HeartbeatMessage,
    Message,
    SelftestResultMessage,
    SelftestRunMessage,
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


async def test_announces_outlast_a_long_outage_latest_per_device(
    broker: Broker, tmp_path: Path
) -> None:
    """While the link is down more runs pile up than the bounded queue holds (its oldest
    are dropped); every device's announce survives, only its latest, and goes out (retained)
    once the link is up."""
    now = datetime.now(UTC)
    link = MqttLink(make_settings(broker, tmp_path).mqtt, lambda _: None, Counter())
    devices = [f"rom-{n}" for n in range(101, 104)]
    for round_, kind in enumerate((AnnouncementKind.EVACUATE, AnnouncementKind.LOCKDOWN)):
        for device in devices:
            link.publish_announce(
                AnnounceMessage(
                    site=SITE,
                    device=device,
                    announcement_id=UUID(int=round_),
                    kind=kind,
                    by="kari",
                    at=now,
                )
            )
        for _ in range(MAX_PENDING_ACKS // 2 + 1):
            deadline = now + timedelta(minutes=1)
            link.publish_run(
                SelftestRunMessage(
                    site=SITE, device="rom-101", run_id=uuid4(), deadline=deadline, sent_at=now
                )
            )
    assert link.pending == MAX_PENDING_ACKS + len(devices)

    heard: dict[str, list[str]] = {}
    async with mqtt_tester(broker) as edge:
        await edge.subscribe(f"trygg/v1/{SITE}/+/announce", qos=1)

        async def listen() -> None:
            async for message in edge.messages:
                device = str(message.topic).split("/")[3]
                heard.setdefault(device, []).append(json.loads(message.payload)["kind"])

        listening = asyncio.create_task(listen())
        running = asyncio.create_task(link.run())
        try:
            await until(lambda: link.pending == 0, within=30, what="everything sent")
            # Every publish is confirmed; a marker after them bounds what is still on its way.
            marker = f"trygg/v1/{SITE}/marker/announce"
            await edge.publish(marker, json.dumps({"kind": "marker"}), qos=1)
            await until(lambda: "marker" in heard, what="the marker")
        finally:
            for task in (running, listening):
                task.cancel()
            await asyncio.gather(running, listening, return_exceptions=True)
    del heard["marker"]
    assert heard == {device: ["lockdown"] for device in devices}
    async with mqtt_tester(broker) as late:  # a device connecting now: the retained state
        await late.subscribe(f"trygg/v1/{SITE}/rom-102/announce", qos=1)
        message = await asyncio.wait_for(anext(aiter(late.messages)), 10)
        assert message.retain
        assert json.loads(message.payload)["kind"] == "lockdown"
