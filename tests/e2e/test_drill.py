"""Drills through real processes (issue 14's done-when): a real ``trygg-central``, Mosquitto,
headless ``trygg-desk``s and an edge agent on gpiozero's mock pins, one stack for the module.

Lea (the leader) puts Møterom 101 in drill mode; a real press on its button is then a drill:
the desks get it marked drill, the board says DRILL and does not count it, the button's LED
shows the drill pattern through every state, and the drill log has its four times (press,
first screen, first "I'm coming", resolved) and who answered. A drill Lea raises from the
console goes the same way (no LED: no device raised it). Once the mode is ended, the same
button raises a real alarm again: counted, and shown in the ordinary pattern — also when the
mode ended while its drill was still open (central ends that drill with the mode, so the next
press is a new, real alarm that would reach the alarm receiving centre).

Each test sets up the drill mode it needs and ends it (:func:`drill_mode`), and counts what it
adds, so that any of them runs alone.
"""

from __future__ import annotations

import asyncio
import csv
import io
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import pytest_asyncio
from gpiozero.pins.mock import MockFactory

from central.api.models import StoredAlarm
from central.arc.reports import alarm_report
from configfile import load_settings
from edge.agent import EdgeAgent
from edge.config import EdgeSettings
from tests.support.agent_waits import wait_connected, wait_for, wait_ready
from tests.support.broker import Broker
from tests.support.stack import SITE, Central, Desk, Login, edge_config, running_desks

pytestmark = pytest.mark.asyncio(loop_scope="module")

USERS = {"kari": "Kari Nordmann", "ola": "Ola Hansen", "eva": "Eva Ansatt"}
ROLES: dict[str, tuple[str, ...]] = {"eva": ("employee",)}
# Lea works in the console (pages need a session): an account with a password.
LEA = Login("lea", "Lea Leder", ("leader",), desk_token=True)  # and a token for /api/alarms
ROOM = "Møterom 101"
DESK_BUTTON = 17  # the edge's acute button, input "desk" (tests.support.stack.edge_config)


@dataclass
class Stack:
    central: Central
    desks: dict[str, Desk]
    agent: EdgeAgent
    pins: MockFactory
    lea: httpx.AsyncClient

    def press(self) -> None:
        self.pins.pin(DESK_BUTTON).drive_low()
        self.pins.pin(DESK_BUTTON).drive_high()

    async def led(self, pattern: str) -> None:
        """Until the desk button's LED is driven in ``pattern`` (``drill:received``, ...)."""
        await wait_for(
            self.agent,
            lambda: self.agent.led_pattern("desk") == pattern,
            15,
            f"LED {pattern} (now {self.agent.led_pattern('desk')})",
        )


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    broker = Broker(tmp_path_factory.mktemp("broker"))
    broker.start()
    workdir = tmp_path_factory.mktemp("drill")
    central = Central(broker, workdir, USERS, devices=((SITE, "rom-101", ROOM),), roles=ROLES)
    central.start()
    pins = MockFactory()
    agent = EdgeAgent(load_settings(EdgeSettings, edge_config(workdir, broker)), pin_factory=pins)
    task = asyncio.create_task(agent.run())
    try:
        central.add_logins(LEA)
        await wait_ready(agent, timeout=10)
        await wait_connected(agent, timeout=10)
        async with (
            running_desks(central, ("kari", "ola"), workdir) as desks,
            central.log_in(LEA.user).async_client() as lea,
        ):
            yield Stack(central, desks, agent, pins, lea)
    finally:
        agent.stop()
        await asyncio.wait_for(task, 15)
        pins.close()
        central.stop()
        broker.stop()


def alarm_line(match: Callable[[dict[str, Any]], bool]) -> Callable[[dict[str, Any]], bool]:
    return lambda ln: ln["event"] == "alarm" and match(ln)


def done_of(answer: httpx.Response) -> str:
    assert answer.status_code == 303, answer.text
    found = re.search(r"done=(\w+)", answer.headers["location"])
    assert found, answer.headers["location"]
    return found.group(1)


async def log_row(lea: httpx.AsyncClient, alarm_id: str) -> dict[str, str]:
    """The drill's line of the drill log (CSV), once all four times are there."""
    for _ in range(150):
        found = (await lea.get("/drills/log.csv")).text.lstrip("\ufeff")
        for row in csv.DictReader(io.StringIO(found)):
            if row["alarm_id"] == alarm_id and row["seconds_to_resolved"]:
                return row
        await asyncio.sleep(0.1)
    raise AssertionError(f"drill {alarm_id} not on the drill log with its four times")


@asynccontextmanager
async def drill_mode(lea: httpx.AsyncClient, **form: Any) -> AsyncIterator[str]:
    """Møterom 101 in drill mode for 10 minutes while the block runs (its mode id); ended at
    the end if the block did not end it."""
    data = {"site": SITE, "room": ROOM, "minutes": "10", **form}
    assert done_of(await lea.post("/drills/mode", data=data)) == "mode_started"
    [mode_id] = re.findall(r'data-mode="([0-9a-f-]+)"', (await lea.get("/drills")).text)
    try:
        yield mode_id
    finally:
        if mode_id in (await lea.get("/drills")).text:
            assert done_of(await lea.post(f"/drills/mode/{mode_id}/end")) == "mode_ended"


def record(central: Central, alarm_id: str) -> StoredAlarm:
    """The alarm as central's record has it (``/api/alarms``)."""
    [found] = [a for a in central.alarms(LEA.user) if a["alarm_id"] == alarm_id]
    return StoredAlarm.model_validate(found)


async def counts(lea: httpx.AsyncClient) -> tuple[int, int]:
    """(real alarms, drills) as the console's history counts them (none yet: no counts)."""
    page = (await lea.get("/alarms")).text
    if "data-real-count" not in page and 'class="empty"' in page:
        return 0, 0
    found = re.search(r'data-real-count="(\d+)" data-drill-count="(\d+)"', page)
    assert found, "the history's counts"
    return int(found.group(1)), int(found.group(2))


async def test_a_press_in_drill_mode_is_a_drill_on_desk_board_and_led_and_on_the_log(
    stack: Stack,
) -> None:
    lea, kari = stack.lea, stack.desks["kari"]
    await stack.led("off")
    before = await counts(lea)
    async with drill_mode(lea, scenario="truende-bruker", in_room=["eva"]):
        assert 'data-drill-mode="Møterom 101"' in (await lea.get("/board/live")).text

        seen = len(kari.lines)
        stack.press()  # a real press on the room's button
        line = await kari.wait_for(
            alarm_line(lambda ln: kari.lines.index(ln) >= seen and ln["state"] != "resolved")
        )
        alarm_id = line["alarm_id"]
        assert line["drill"] is True  # the desk shows DRILL (the window's band; here the line)
        assert line["room"] == ROOM
        await stack.led("drill:received")  # central's ack said drill: the drill pattern

        board = (await lea.get("/board/live")).text
        assert "data-drill-band" in board
        assert "Aktive alarmer (0)" in board  # a drill is not counted as an alarm
        assert 'data-drill-count="1"' in board

        await kari.send(f"coming {alarm_id}")
        await stack.led("drill:help_coming")
        await kari.send(f"resolve {alarm_id}")
        await stack.led("resolved")

    row = await log_row(lea, alarm_id)
    assert row["kind"] == "mode"
    assert row["scenario"] == "truende-bruker"
    times = [float(row[f"seconds_to_{t}"]) for t in ("shown", "coming", "resolved")]
    assert times == sorted(times)
    assert times[0] >= 0
    assert row["answered"] == "Kari Nordmann"
    assert set(row["took_part"].split("; ")) == {"Eva Ansatt", "Kari Nordmann"}
    assert await counts(lea) == (before[0], before[1] + 1)


async def test_a_drill_raised_from_the_console_goes_to_the_desks_and_the_log(
    stack: Stack,
) -> None:
    lea, ola = stack.lea, stack.desks["ola"]
    before = await counts(lea)
    seen = len(ola.lines)
    raised = await lea.post(
        "/drills/raise",
        data={"site": SITE, "room": ROOM, "scenario": "vold-pagar", "in_room": ["eva"]},
    )
    assert done_of(raised) == "drill_raised"
    line = await ola.wait_for(
        alarm_line(lambda ln: ola.lines.index(ln) >= seen and ln["raised_by"] == "lea")
    )
    alarm_id = line["alarm_id"]
    assert line["drill"] is True
    assert line["level"] == "acute"  # the scenario's
    await ola.send(f"coming {alarm_id}")
    await ola.send(f"resolve {alarm_id}")
    row = await log_row(lea, alarm_id)
    assert row["kind"] == "console"
    assert row["answered"] == "Ola Hansen"
    assert stack.agent.led_pattern("desk") in ("resolved", "off")  # no device raised it
    assert await counts(lea) == (before[0], before[1] + 1)
    register = (await lea.get("/training")).text
    assert 'data-took-part="ola"' in register
    assert 'data-took-part="lea"' in register  # raised it
    assert 'data-untrained="eva"' not in register  # named as rehearsing in the room


async def test_once_drill_mode_ends_the_same_button_raises_a_real_alarm(stack: Stack) -> None:
    lea, kari = stack.lea, stack.desks["kari"]
    await stack.led("off")
    before = await counts(lea)
    async with drill_mode(lea) as mode_id:
        assert done_of(await lea.post(f"/drills/mode/{mode_id}/end")) == "mode_ended"

    seen = len(kari.lines)
    stack.press()
    line = await kari.wait_for(
        alarm_line(lambda ln: kari.lines.index(ln) >= seen and ln["state"] != "resolved")
    )
    alarm_id = line["alarm_id"]
    assert line["drill"] is False
    await stack.led("received")  # the ordinary pattern
    assert "Aktive alarmer (1)" in (await lea.get("/board/live")).text
    await kari.send(f"resolve {alarm_id}")
    await stack.led("resolved")
    assert await counts(lea) == (before[0] + 1, before[1])
    log = (await lea.get("/drills/log.csv")).text
    assert alarm_id not in log  # a real alarm is never on the drill log


async def test_a_drill_left_open_when_its_mode_ends_does_not_take_over_the_next_press(
    stack: Stack,
) -> None:
    """The edge counts a new press on the alarm its button holds. A drill still open when its
    mode ends would take the next real press in (acked as a drill, never to the ARC): central
    ends it with the mode, and the next press is a new alarm, real."""
    lea, kari = stack.lea, stack.desks["kari"]
    await stack.led("off")
    before = await counts(lea)
    async with drill_mode(lea) as mode_id:
        seen = len(kari.lines)
        stack.press()
        line = await kari.wait_for(
            alarm_line(lambda ln: kari.lines.index(ln) >= seen and ln["state"] != "resolved")
        )
        drill_id = line["alarm_id"]
        assert line["drill"] is True
        await stack.led("drill:received")
        # Nobody resolves it: the leader ends the mode with the drill still open.
        assert done_of(await lea.post(f"/drills/mode/{mode_id}/end")) == "mode_ended"

    ended = await kari.wait_for(
        lambda ln: ln.get("alarm_id") == drill_id and ln.get("state") == "resolved"
    )
    assert ended["drill"] is True
    await stack.led("resolved")  # the button let go of the drill
    drill = record(stack.central, drill_id)
    assert drill.resolved_by == "central"
    assert ("resolved", "drill mode ended") in [(e.kind, e.detail) for e in drill.events]

    await stack.led("off")
    seen = len(kari.lines)
    stack.press()  # the same button, after the mode
    line = await kari.wait_for(
        alarm_line(
            lambda ln: (
                kari.lines.index(ln) >= seen
                and ln["alarm_id"] != drill_id
                and ln["state"] != "resolved"
            )
        )
    )
    alarm_id = line["alarm_id"]
    assert line["drill"] is False  # every screen: a real alarm
    await stack.led("received")  # the ordinary pattern
    real = record(stack.central, alarm_id)
    assert not real.drill
    assert alarm_report(real, {}) is not None  # the ARC would hear it when the routine says so
    assert "Aktive alarmer (1)" in (await lea.get("/board/live")).text
    await kari.send(f"resolve {alarm_id}")
    await stack.led("resolved")
    assert await counts(lea) == (before[0] + 1, before[1] + 1)
