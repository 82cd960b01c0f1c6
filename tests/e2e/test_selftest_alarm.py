"""The end-to-end test alarm and a manual test round, on real processes.

``trygg-central`` and headless ``trygg-desk`` processes, real Mosquitto, the edge agent on mock
pins. The test alarm must reach the site's test screen and no other screen, record each leg's
latency, and stay out of the alarm record's figures; a round ticks the buttons pressed.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import RunningEdge
from tests.support.agent_waits import wait_led
from tests.support.broker import Broker
from tests.support.selftest_stack import MANAGER, TEST_SCREEN, SelftestCentral
from tests.support.stack import SITE, Desk, running_desks, script

WEEKLY = "weekly-test-alarm"


@pytest.fixture
def central(broker: Broker, tmp_path: Path) -> Iterator[SelftestCentral]:
    c = SelftestCentral(broker, tmp_path)
    c.start()
    try:
        yield c
    finally:
        c.stop()


@pytest.fixture
async def desks(central: SelftestCentral, tmp_path: Path) -> AsyncIterator[dict[str, Desk]]:
    async with running_desks(central, (TEST_SCREEN, "kari"), tmp_path) as started:
        yield started


def is_alarm(line: dict[str, Any]) -> bool:
    return line["event"] in ("alarm", "active")


async def test_the_test_alarm_reaches_only_the_test_screen_and_records_its_legs(
    central: SelftestCentral, desks: dict[str, Desk], edge: RunningEdge
) -> None:
    await central.device_online("rom-101")
    [run_id] = central.run_schedule(WEEKLY, deadline_s=15)
    run = await central.finished_run(run_id)
    assert run["result"] == "passed", run
    legs = {c["name"]: c for c in run["checks"]}
    assert set(legs) == {"edge_to_central", "stored", "to_test_screen", "edge_ack"}
    assert all(leg["ok"] and leg["value"] is not None for leg in legs.values()), legs

    shown = await desks[TEST_SCREEN].wait_for(is_alarm)
    assert shown["test"] is True
    assert shown["device"] == "rom-101"
    await desks[TEST_SCREEN].wait_for(
        lambda ln: ln["alarm_id"] == shown["alarm_id"] and ln["state"] == "resolved"
    )
    # Nothing reached kari: her next line is a real alarm raised only now.
    edge.press(22)
    real = await desks["kari"].wait_for(lambda _ln: True)
    assert real["event"] == "alarm"
    assert real["test"] is False
    assert real["input"] == "wall"
    # The alarm record leaves the test out unless asked; asked, it is there, ended by central.
    assert [a["alarm_id"] for a in central.alarms("kari")] == [real["alarm_id"]]
    everything = central.api("GET", "/api/alarms", params={"include_tests": "true"})["alarms"]
    test = next(a for a in everything if a["alarm_id"] == shown["alarm_id"])
    assert test["test"]
    assert test["state"] == "resolved"
    assert test["resolved_by"] == "central"
    # The edge never lit its LED for the synthetic press.
    assert edge.agent.led_state("desk") == "off"


def cli(central: SelftestCentral, *args: str) -> dict[str, Any]:
    result = subprocess.run(
        [script("trygg-central"), "round", *args, "--config", str(central.config), "--site", SITE],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout))


async def test_a_round_ticks_pressed_buttons_and_lists_the_rest(
    central: SelftestCentral, desks: dict[str, Desk], edge: RunningEdge, tmp_path: Path
) -> None:
    await central.device_online("rom-101")
    tester = Desk(central, MANAGER, tmp_path)
    await tester.start()
    await central.wait_screens(3)
    try:
        started = await asyncio.to_thread(cli, central, "start")
        assert started["state"] == "open"
        assert started["tester"] == MANAGER
        assert {b["input"] for b in started["not_tested"]} == {"desk", "wall"}

        edge.press(17)  # the desk button: its test
        test = await tester.wait_for(is_alarm)
        assert test["test"] is True
        assert test["input"] == "desk"
        await wait_led(edge.agent, "desk", "off", timeout=15)  # received, resolved, off

        edge.press(17)  # again in the same round: a real alarm, to everyone
        real = await desks["kari"].wait_for(is_alarm)
        assert real["test"] is False
        assert real["input"] == "desk"
        await desks[TEST_SCREEN].wait_for(lambda ln: ln["alarm_id"] == real["alarm_id"])

        # Coverage counts kari's and frida's screens; the test screen is not a colleague.
        [site] = central.api("GET", "/api/coverage")["sites"]
        assert (site["site"], site["screens"], site["covered"]) == (SITE, 2, True)
        shown = await asyncio.to_thread(cli, central, "show")
        assert [b["input"] for b in shown["tested"]] == ["desk"]
        closed = await asyncio.to_thread(cli, central, "close")
    finally:
        await tester.stop()
    assert closed["state"] == "closed"
    assert [(b["device"], b["input"]) for b in closed["tested"]] == [("rom-101", "desk")]
    assert [(b["device"], b["input"]) for b in closed["not_tested"]] == [("rom-101", "wall")]
    assert closed["failed"] == []
    [logged] = central.api("GET", "/api/tests", params={"kind": "manual_round"})["runs"]
    assert logged["result"] == "failed"
    assert logged["reason"] == "1 tested, 1 not tested, 0 failed"
    assert {(c["input"], c["ok"]) for c in logged["checks"]} == {("desk", True), ("wall", False)}
    # The wall button is overdue for its monthly test; the desk button is not.
    overdue = central.api("GET", "/api/tests/overdue")["overdue"]
    rounds = {(o["device"], o["input"]) for o in overdue if o["kind"] == "manual_round"}
    assert rounds == {("rom-101", "wall")}
    # Only facility managers start rounds.
    refused = await asyncio.to_thread(
        httpx.post,
        f"{central.url}/api/test-rounds",
        json={"site": SITE},
        headers={"Authorization": f"Bearer {central.tokens['kari']}"},
    )
    assert refused.status_code == 403
