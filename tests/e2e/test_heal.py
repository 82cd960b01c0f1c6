"""State that heals after a broker restart (issue 9), with every part real: Mosquitto killed
with -9 and started again on its port (no persistence: it forgets every session and queued
message, as the shipped broker did), ``trygg-central`` and two ``trygg-desk --headless``
processes, and edge agents on gpiozero mock pins.

The resolution of an alarm happens at central while the broker is down, so its "resolved" ack
cannot reach the edge: the edge still shows "help is coming". What must follow, without any
new press, is the edge learning the truth (state sync); and with a press, a NEW alarm on every
screen, never a re-press swallowed by the resolved one.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from uuid import UUID

import pytest
from gpiozero.pins.mock import MockFactory

from configfile import load_settings
from edge.agent import EdgeAgent
from edge.config import EdgeSettings
from protocol import AckMessage, AckState
from protocol.messages import HeldState
from tests.e2e.conftest import RunningEdge
from tests.e2e.heal_support import (
    alarm_lines,
    alarms_since,
    by_id,
    holds,
    new_alarm,
    settled,
    state_of,
    until,
    until_recorded,
    wait_state,
)
from tests.edge.helpers import Observer
from tests.support.agent_waits import wait_connected, wait_for, wait_led, wait_pending, wait_ready
from tests.support.broker import Broker
from tests.support.stack import Central, Desk, edge_config


async def raised_and_coming(edge: RunningEdge, desks: dict[str, Desk]) -> str:
    """A press on "desk", seen by every screen, Kari coming: the LED says help is coming."""
    edge.press(17)
    alarm_id = str((await desks["kari"].wait_for(new_alarm))["alarm_id"])
    await desks["ola"].wait_for(lambda ln: new_alarm(ln) and ln["alarm_id"] == alarm_id)
    await desks["kari"].send(f"coming {alarm_id}")
    await wait_led(edge.agent, "desk", "help_coming", timeout=20)
    return alarm_id


async def resolve_while_broker_down(
    broker: Broker, central: Central, desks: dict[str, Desk], edge: RunningEdge, old: str
) -> None:
    broker.kill()
    await desks["ola"].send(f"resolve {old}")
    for desk in desks.values():
        await wait_state(desk, old, "resolved")
    await until_recorded(central, lambda r: state_of(r, old) == "resolved", what="resolution")
    # The fault under test: the edge never heard of it.
    assert edge.agent.led_state("desk") == "help_coming"
    assert edge.agent.active_alarm("desk") == UUID(old)


async def restart_broker_edge_last(
    broker: Broker,
    central: Central,
    device: str = "rom-101",
    meanwhile: Callable[[], object] = lambda: None,
) -> None:
    """Start the broker again, but let the edge in only after central has reconnected and
    sent what it owed (or a few seconds): central's "resolved" ack reaches a broker that has no
    session for the edge, and is gone, as in the issue. The edge is kept out the way a broker
    keeps anyone out: its password is wrong until the broker re-reads the right one."""
    password = broker.users[device]
    broker.add_user(device, "not-yet-" + password)
    broker.start()
    async with Observer(broker, "heal-observer") as wire:

        async def central_connected() -> bool:
            return bool((await asyncio.to_thread(central.health))["mqtt"] == "connected")

        await until(central_connected, 20, "central reconnected")
        with contextlib.suppress(AssertionError):  # an old central may have dropped it
            await wire.wait_for(
                lambda: any(
                    isinstance(m, AckMessage) and m.state is AckState.RESOLVED
                    for m in (s.decoded() for s in wire.seen if s.topic.endswith(f"/{device}/ack"))
                ),
                3,
                "central's resolved ack on the wire",
            )
    meanwhile()
    broker.add_user(device, password)  # and HUP: the edge gets in at its next try


@pytest.mark.parametrize("when", ["broker_down", "just_after_restart"])
async def test_a_press_after_a_lost_resolved_is_a_new_alarm_on_every_screen(
    broker: Broker, central: Central, desks: dict[str, Desk], edge: RunningEdge, when: str
) -> None:
    old = await raised_and_coming(edge, desks)
    await resolve_while_broker_down(broker, central, desks, edge, old)

    if when == "broker_down":
        edge.press(17)  # the edge still believes the old alarm active: a re-press of it
        await until(
            lambda: (
                edge.agent.outbox_pending() == 1 and edge.agent.active_alarm("desk") == UUID(old)
            ),
            5,
            "the press pending as a re-press of the old alarm",
        )
        broker.start()
    else:  # the case: the press comes after central's resolved ack was lost
        await restart_broker_edge_last(broker, central, meanwhile=lambda: edge.press(17))

    lines = {
        u: await d.wait_for(lambda ln: new_alarm(ln) and ln["alarm_id"] != old, 20)
        for u, d in desks.items()
    }
    new = lines["kari"]["alarm_id"]
    assert lines["ola"]["alarm_id"] == new
    assert lines["kari"]["input"] == "desk"
    assert lines["kari"]["device"] == "rom-101"

    # The LED converges to the new alarm's state (stored, nobody coming yet: received).
    await wait_for(
        edge.agent,
        lambda: (
            edge.agent.active_alarm("desk") == UUID(new)
            and edge.agent.led_state("desk") == "received"
        ),
        20,
        "LED on the new alarm, received",
    )
    await wait_pending(edge.agent, 0, timeout=20)
    stored = await until_recorded(
        central, lambda r: state_of(r, new) == "received", what="the new alarm stored"
    )
    async with Observer(broker, "heal-settled") as wire:
        # Heartbeats and resends with nothing left to send: a double would show by the marker.
        await settled(wire, central, "rom-101", holds(new, 1, HeldState.RECEIVED))
        assert alarms_since(wire, 0) == []
    stored = await until_recorded(central, lambda r: len(r) == 2, 5, "exactly two alarms")
    assert state_of(stored, old) == "resolved"
    assert by_id(stored, old)["presses"] == 1  # type: ignore[index]
    assert by_id(stored, new)["presses"] == 1  # type: ignore[index]
    for desk in desks.values():
        assert len(alarm_lines(desk, new)) == 1, desk.lines
        assert len(alarm_lines(desk, old)) == 1, desk.lines
        # The old alarm stays resolved on every screen: nothing after its resolution.
        # (Alarm lines only: the desk that said "I'm coming" is asked for a report about it.)
        last_old = [ln for ln in desk.lines if ln.get("alarm_id") == old and "state" in ln][-1]
        assert last_old["state"] == "resolved", desk.lines


async def test_a_lost_resolved_ack_reaches_the_led_without_a_press(
    broker: Broker, central: Central, desks: dict[str, Desk], edge: RunningEdge
) -> None:
    old = await raised_and_coming(edge, desks)
    await resolve_while_broker_down(broker, central, desks, edge, old)
    await restart_broker_edge_last(broker, central)
    await wait_for(
        edge.agent,
        lambda: (
            edge.agent.active_alarm("desk") is None
            and edge.agent.led_state("desk") in ("resolved", "off")
        ),
        20,
        "LED resolved/off",
    )
    await until(lambda: edge.agent.led_state("desk") == "off", 10, "LED dark after resolved")
    stored = await until_recorded(central, lambda r: len(r) == 1, 5, "one alarm")
    assert state_of(stored, old) == "resolved"
    assert edge.agent.outbox_pending() == 0


@pytest.fixture
async def two_edges(broker: Broker, tmp_path: Path) -> AsyncIterator[list[RunningEdge]]:
    running: list[tuple[RunningEdge, asyncio.Task[None]]] = []
    try:
        for device in ("rom-101", "rom-102"):
            config = edge_config(tmp_path, broker, device)
            # The shipped resend interval (5 s), not the tests' 1 s: a press published before
            # central is back on a broker without sessions waits for it (the 13 s).
            config.write_text(config.read_text().replace("resend_interval_s = 1.0\n", ""))
            settings = load_settings(EdgeSettings, config)
            pins = MockFactory()
            agent = EdgeAgent(settings, pin_factory=pins)
            running.append((RunningEdge(agent, pins), asyncio.create_task(agent.run())))
            await wait_ready(agent, timeout=10)
            await wait_connected(agent, timeout=10)
        yield [edge for edge, _ in running]
    finally:
        for edge, task in running:
            edge.agent.stop()
            await asyncio.wait_for(task, 15)
            edge.pins.close()


#: EN 50131's limit for a hold-up alarm, press -> stored; the issue measured 13-14 s before.
DEADLINE_S = 10.0


async def test_broker_killed_for_3_s_while_two_edges_are_pressed(
    broker: Broker, central: Central, two_edges: list[RunningEdge]
) -> None:
    pressed: dict[str, float] = {}  # alarm id -> monotonic time of its press

    async def press(edge: RunningEdge, input_name: str, pin: int) -> None:
        at = time.monotonic()
        edge.press(pin)
        await until(lambda: edge.agent.active_alarm(input_name) is not None, 5, "alarm id")
        pressed[str(edge.agent.active_alarm(input_name))] = at

    one, two = two_edges
    await press(one, "desk", 17)
    broker.kill()
    down = time.monotonic()
    await press(two, "desk", 17)
    await asyncio.sleep(1)
    await press(one, "wall", 22)
    await asyncio.sleep(max(0.0, 3 - (time.monotonic() - down)))
    broker.start()
    await press(two, "wall", 22)

    stored_at: dict[str, float] = {}

    async def all_stored() -> bool:
        for alarm in await until_recorded(central, lambda _r: True, 5):
            stored_at.setdefault(alarm["alarm_id"], time.monotonic())
        return set(pressed) <= set(stored_at)

    await until(all_stored, 30, "every alarm stored", poll=0.05)
    times = {alarm_id: stored_at[alarm_id] - at for alarm_id, at in pressed.items()}
    for alarm_id, seconds in times.items():
        print(f"press -> stored {seconds:5.2f} s  {alarm_id}")
    assert set(stored_at) == set(pressed)  # nothing else, nothing doubled
    assert max(times.values()) < DEADLINE_S, times
