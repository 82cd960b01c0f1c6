"""Nothing lost, nothing doubled: duplicates, third-party publishers, broker and central outages.

No test sleeps before it counts. A *marker* bounds the wait instead: one more alarm, sent after
everything that could still cause a duplicate, over the same path. Central takes MQTT messages
one at a time in the order the broker passes them on, so once the marker is stored any stray
duplicate before it has been handled, and the count is final.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from typing import Any

from tests.e2e.conftest import RunningEdge
from tests.support.agent_waits import wait_connected, wait_led
from tests.support.broker import Broker
from tests.support.stack import SITE, Central, Desk

WALL_PIN = 22  # the edge's second button (tests.support.stack.edge_config): the marker's


async def until(condition: Callable[[], object], what: str, within: float = 20) -> None:
    """Bounded polling for state that has no change notification (the edge's outbox)."""
    for _ in range(int(within / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


async def wait_alarms(central: Central, count: int, timeout: float = 20) -> list[dict[str, Any]]:
    """Poll /api/alarms until it lists at least ``count`` alarms (a marker makes it final)."""
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


async def marker_press(edge: RunningEdge, central: Central) -> dict[str, Any]:
    """A press on the wall button once the desk alarm is settled: the edge sends it over the
    same connection after any resend of the desk alarm, so once central has stored it,
    every resend has been handled. Returns the stored marker."""
    edge.press(WALL_PIN)

    def walls() -> list[dict[str, Any]]:
        return [a for a in central.alarms("kari") if a["input"] == "wall"]

    await until(walls, "the marker press stored by central")
    [marker] = walls()
    return marker


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
    # The marker: one more new alarm, published after every duplicate.
    marker = third_party_alarm("rom-102")
    broker.pub(f"trygg/v1/{SITE}/rom-102/alarm", json.dumps(marker).encode(), user="rom-102")
    await desks["ola"].wait_for(lambda ln: ln.get("alarm_id") == marker["alarm_id"])
    alarms = await wait_alarms(central, 3)
    expected = sorted([pressed["alarm_id"], other["alarm_id"], marker["alarm_id"]])
    assert sorted(a["alarm_id"] for a in alarms) == expected
    for alarm in alarms:
        assert [e["kind"] for e in alarm["events"]].count("raised") == 1
    new_lines = [ln for ln in desks["ola"].lines if ln["event"] == "alarm"]
    assert sorted(ln["alarm_id"] for ln in new_lines) == expected


async def test_broker_down_during_press_delivers_once(
    broker: Broker, central: Central, desks: dict[str, Desk], edge: RunningEdge
) -> None:
    await wait_connected(edge.agent, timeout=15)
    broker.kill()
    edge.press(17)
    # The press is kept while the broker is away: in the outbox, its LED "sending".
    await until(lambda: edge.agent.outbox_pending() == 1, "the press in the edge's outbox")
    assert edge.agent.led_state("desk") == "sending"
    broker.start()
    line = await desks["kari"].wait_for(lambda ln: ln["event"] in ("alarm", "active"), timeout=30)
    await wait_led(edge.agent, "desk", "received", timeout=30)
    await settle(edge)
    marker = await marker_press(edge, central)
    [alarm] = [a for a in central.alarms("kari") if a["alarm_id"] != marker["alarm_id"]]
    assert alarm["alarm_id"] == line["alarm_id"]
    assert [e["kind"] for e in alarm["events"]].count("raised") == 1


async def test_central_killed_during_press_delivers_once(
    central: Central, desks: dict[str, Desk], edge: RunningEdge
) -> None:
    await wait_connected(edge.agent, timeout=15)
    central.kill()
    edge.press(17)
    # Kept, and not shown as received: nobody is there to store it.
    await until(lambda: edge.agent.outbox_pending() == 1, "the press in the edge's outbox")
    assert edge.agent.led_state("desk") == "sending"
    central.start()
    line = await desks["kari"].wait_for(lambda ln: ln["event"] in ("alarm", "active"), timeout=30)
    await wait_led(edge.agent, "desk", "received", timeout=30)
    await settle(edge)
    marker = await marker_press(edge, central)
    [alarm] = [a for a in central.alarms("kari") if a["alarm_id"] != marker["alarm_id"]]
    assert alarm["alarm_id"] == line["alarm_id"]
    assert [e["kind"] for e in alarm["events"]].count("raised") == 1
