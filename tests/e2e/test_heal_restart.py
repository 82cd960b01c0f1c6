"""An edge that loses its power heals with central (issue 9), every part real: ``trygg-edge``
processes on the simulator's pins killed with SIGKILL and started again on the same outbox,
Mosquitto, ``trygg-central`` and two ``trygg-desk --headless`` processes.

- Restarted while a colleague is coming: the LED shows "help is coming" again, and a second
  press counts on the same alarm (``presses=2`` in central's record), never a new alarm.
- Killed within a millisecond of a press, the button still held when the power comes back:
  exactly one alarm in central's record for that press.

"Nothing more came" is counted after an observed marker, not a sleep: the edge's heartbeats
on the broker, steady on the one alarm with nothing to resend, and central hearing the edge
after them (``heal_support.settled``); every alarm on the wire, from the first start on, is
that one alarm.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from firmware_sim.control import request
from protocol.messages import HeldState
from tests.e2e.heal_support import (
    alarm_lines,
    alarms_since,
    holds,
    new_alarm,
    settled,
    state_of,
    until_recorded,
)
from tests.edge.helpers import Observer
from tests.support.broker import Broker
from tests.support.sim_edge import PINS, SimEdge
from tests.support.stack import Central, Desk


@pytest.fixture
def sim_edge(broker: Broker, tmp_path: Path) -> Iterator[SimEdge]:
    edge = SimEdge(broker, tmp_path)
    try:
        yield edge
    finally:
        edge.stop()


async def test_a_restarted_edge_shows_help_coming_and_counts_the_next_press_on_it(
    broker: Broker, central: Central, desks: dict[str, Desk], sim_edge: SimEdge
) -> None:
    kari = desks["kari"]
    async with Observer(broker, "heal-restart") as wire:
        await asyncio.to_thread(sim_edge.start)
        await asyncio.to_thread(sim_edge.act, "desk", "press")
        alarm_id = str((await kari.wait_for(new_alarm))["alarm_id"])
        await kari.send(f"coming {alarm_id}")
        await asyncio.to_thread(sim_edge.wait_led, "desk", "on")

        sim_edge.kill()
        await asyncio.to_thread(sim_edge.start)
        await asyncio.to_thread(sim_edge.wait_led, "desk", "on")  # help is still coming

        await asyncio.to_thread(sim_edge.act, "desk", "press")
        stored = await until_recorded(
            central, lambda r: len(r) >= 1 and r[0]["presses"] == 2, what="presses=2"
        )
        # Heartbeats and resends after the press: a new alarm would show by the marker.
        await settled(wire, central, "rom-101", holds(alarm_id, 2, HeldState.ACKNOWLEDGED))
        assert {str(a.alarm_id) for a in alarms_since(wire, 0)} == {alarm_id}
    stored = await until_recorded(central, lambda r: len(r) == 1, 5, "exactly one alarm")
    assert stored[0]["alarm_id"] == alarm_id
    assert stored[0]["state"] == "acknowledged"
    assert "presses=2" in [event["detail"] for event in stored[0]["events"]], stored
    for desk in desks.values():
        assert [ln["alarm_id"] for ln in desk.lines if new_alarm(ln)] == [alarm_id]
        await desk.wait_for(lambda ln: ln.get("alarm_id") == alarm_id and ln["presses"] == 2)
    await asyncio.to_thread(sim_edge.wait_led, "desk", "on")


def hold_then_kill(edge: SimEdge) -> None:
    """Close the contact and cut the power right after (one thread: no loop in between)."""
    request(edge.control, cmd="hold", pin=PINS["desk"][0])
    assert edge.proc is not None
    edge.proc.send_signal(signal.SIGKILL)


@pytest.mark.parametrize("cut", ["just_after_the_press", "before_the_edge_saw_it"])
async def test_a_press_cut_short_by_a_power_cut_is_one_alarm_after_the_restart(
    broker: Broker, central: Central, desks: dict[str, Desk], sim_edge: SimEdge, cut: str
) -> None:
    async with Observer(broker, "heal-cut") as wire:
        await asyncio.to_thread(sim_edge.start)
        if cut == "just_after_the_press":
            await asyncio.to_thread(hold_then_kill, sim_edge)
        else:  # the contact closed as the power went: the dying edge never read it
            sim_edge.kill()
        assert sim_edge.proc is not None
        await asyncio.to_thread(sim_edge.proc.wait, 10)

        await asyncio.to_thread(sim_edge.start, ("desk",))  # the finger is still on the button
        kari = desks["kari"]
        line = await kari.wait_for(new_alarm, 20)
        alarm_id = str(line["alarm_id"])
        assert line["input"] == "desk"
        await until_recorded(central, lambda r: state_of(r, alarm_id) == "received", what="stored")
        await asyncio.to_thread(sim_edge.wait_led, "desk", "slow-blink")  # received
        await asyncio.to_thread(sim_edge.act, "desk", "release")
        # Heartbeats and resends after the release: a double would show by the marker.
        await settled(wire, central, "rom-101", holds(alarm_id, 1, HeldState.RECEIVED))
        assert {str(a.alarm_id) for a in alarms_since(wire, 0)} == {alarm_id}
    stored = await until_recorded(central, lambda r: len(r) == 1, 5, "exactly one alarm")
    assert stored[0]["alarm_id"] == alarm_id
    assert stored[0]["presses"] == 1
    for desk in desks.values():
        assert [ln["alarm_id"] for ln in desk.lines if new_alarm(ln)] == [alarm_id]
        assert len(alarm_lines(desk, alarm_id)) == 1
    assert "stuck" not in sim_edge.logs()
