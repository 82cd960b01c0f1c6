"""Nothing lost, nothing doubled: duplicates, third-party publishers, broker and central outages."""

from __future__ import annotations

import asyncio
import json
import uuid

from tests.e2e.conftest import RunningEdge
from tests.support.broker import Broker
from tests.support.stack import SITE, Central, Desk


async def wait_alarms(central: Central, count: int, timeout: float = 20) -> list[dict]:
    """Poll /api/alarms until it lists ``count`` alarms (then check nothing more arrives)."""
    for _ in range(int(timeout / 0.1)):
        alarms = central.alarms("kari")
        if len(alarms) >= count:
            return alarms
        await asyncio.sleep(0.1)
    raise AssertionError(f"expected {count} alarms, have {central.alarms('kari')}")


async def settle(edge: RunningEdge) -> None:
    """Until the edge has its ack (outbox empty), resends may still be on their way."""
    for _ in range(200):
        if edge.agent.outbox_pending() == 0:
            return
        await asyncio.sleep(0.1)
    raise AssertionError("edge outbox never emptied")


def third_party_alarm(device: str) -> dict[str, object]:
    # Exactly the shape docs/protocol.md gives a third-party device.
    return {
        "v": 1,
        "site": SITE,
        "device": device,
        "alarm_id": str(uuid.uuid4()),
        "level": "assist",
        "room": "Resepsjon",
        "source": "button",
        "input": "counter",
        "raised_at": "2026-11-27T10:00:00Z",
    }


async def test_duplicates_and_third_party_give_one_alarm_each(
    broker: Broker, central: Central, desks: dict[str, Desk], edge: RunningEdge
) -> None:
    edge.press(17)
    pressed = await desks["kari"].wait_for(lambda ln: ln["event"] == "alarm")
    await settle(edge)
    # The very same alarm again, twice, from a client that may publish anywhere.
    [stored] = await wait_alarms(central, 1)
    replay = {
        k: stored[k]
        for k in ("alarm_id", "site", "device", "room", "level", "source", "input", "raised_at")
    }
    for _ in range(2):
        broker.pub(f"trygg/v1/{SITE}/rom-101/alarm", json.dumps({"v": 1, **replay}).encode())

    # A third-party device with its own account, publishing with mosquitto_pub, twice.
    broker.add_user("rom-102", "rom-102-password")
    other = third_party_alarm("rom-102")
    for _ in range(2):
        broker.pub(f"trygg/v1/{SITE}/rom-102/alarm", json.dumps(other).encode(), user="rom-102")
    await desks["ola"].wait_for(lambda ln: ln["alarm_id"] == other["alarm_id"])
    alarms = await wait_alarms(central, 2)
    await asyncio.sleep(1.0)  # give any stray duplicate time to land before counting
    alarms = central.alarms("kari")
    assert sorted(a["alarm_id"] for a in alarms) == sorted([pressed["alarm_id"], other["alarm_id"]])
    for alarm in alarms:
        assert [e["kind"] for e in alarm["events"]].count("raised") == 1
    new_lines = [ln for ln in desks["ola"].lines if ln["event"] == "alarm"]
    assert len(new_lines) == 2


async def test_broker_down_during_press_delivers_once(
    broker: Broker, central: Central, desks: dict[str, Desk], edge: RunningEdge
) -> None:
    await edge.agent.wait_connected(timeout=15)
    broker.kill()
    edge.press(17)
    assert edge.agent.outbox_pending() >= 0
    await asyncio.sleep(0.5)
    broker.start()
    line = await desks["kari"].wait_for(lambda ln: ln["event"] in ("alarm", "active"), timeout=30)
    await edge.agent.wait_led("desk", "received", timeout=30)
    await settle(edge)
    await asyncio.sleep(1.0)
    [alarm] = central.alarms("kari")
    assert alarm["alarm_id"] == line["alarm_id"]


async def test_central_killed_during_press_delivers_once(
    central: Central, desks: dict[str, Desk], edge: RunningEdge
) -> None:
    await edge.agent.wait_connected(timeout=15)
    central.kill()
    edge.press(17)
    await asyncio.sleep(0.5)
    assert edge.agent.led_state("desk") == "sending"
    central.start()
    line = await desks["kari"].wait_for(lambda ln: ln["event"] in ("alarm", "active"), timeout=30)
    await edge.agent.wait_led("desk", "received", timeout=30)
    await settle(edge)
    await asyncio.sleep(1.0)
    [alarm] = central.alarms("kari")
    assert alarm["alarm_id"] == line["alarm_id"]
    assert [e["kind"] for e in alarm["events"]].count("raised") == 1
