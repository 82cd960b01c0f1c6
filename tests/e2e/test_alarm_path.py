"""The spine: a press on a mock pin reaches colleagues' screens, they answer, the LED follows.

Real Mosquitto, real ``trygg-central`` and ``trygg-desk`` processes; the edge agent runs its
normal code on gpiozero's mock pins.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.e2e.conftest import RunningEdge
from tests.support.agent_waits import wait_led
from tests.support.stack import SITE, Central, Desk


def is_new(line: dict[str, object]) -> bool:
    return line["event"] == "alarm"


@pytest.mark.usefixtures("central")
async def test_press_reaches_every_desk_and_led_shows_received(
    desks: dict[str, Desk], edge: RunningEdge
) -> None:
    edge.press(17)
    lines = [await desk.wait_for(is_new) for desk in desks.values()]
    first = lines[0]
    assert {line["alarm_id"] for line in lines} == {first["alarm_id"]}
    assert first["site"] == SITE
    assert first["room"] == "Møterom 101"
    assert first["level"] == "acute"
    assert datetime.fromisoformat(str(first["raised_at"])).tzinfo is not None
    await wait_led(edge.agent, "desk", "received", timeout=15)
    # Screens learn that the alarm is stored, too.
    for desk in desks.values():
        await desk.wait_for(
            lambda ln: ln["alarm_id"] == first["alarm_id"] and ln["state"] == "received"
        )
    assert edge.agent.led_state("wall") == "off"


async def test_coming_is_seen_everywhere_and_resolve_clears(
    central: Central, desks: dict[str, Desk], edge: RunningEdge
) -> None:
    kari, ola = desks["kari"], desks["ola"]
    edge.press(22)
    alarm = await kari.wait_for(is_new)
    alarm_id = alarm["alarm_id"]
    assert alarm["level"] == "assist"

    await kari.send(f"coming {alarm_id}")
    for desk in (kari, ola):
        seen = await desk.wait_for(
            lambda ln: (
                ln["alarm_id"] == alarm_id and any(r["user"] == "kari" for r in ln["responders"])
            )
        )
        assert seen["state"] == "acknowledged"
        assert seen["responders"][0]["name"] == "Kari Nordmann"
    await wait_led(edge.agent, "wall", "help_coming", timeout=15)

    await ola.send(f"resolve {alarm_id}")
    for desk in (kari, ola):
        done = await desk.wait_for(
            lambda ln: ln["alarm_id"] == alarm_id and ln["state"] == "resolved"
        )
        assert done["resolved_by"] == "ola"
    await wait_led(edge.agent, "wall", "off", timeout=15)

    [stored] = central.alarms("kari")
    kinds = [event["kind"] for event in stored["events"]]
    assert kinds[0] == "raised"
    assert {"received", "coming", "resolved"} <= set(kinds)
    assert stored["state"] == "resolved"


async def test_a_desk_that_reconnects_lists_active_alarms(
    central: Central, desks: dict[str, Desk], edge: RunningEdge
) -> None:
    edge.press(17)
    alarm = await desks["kari"].wait_for(is_new)
    ola = desks["ola"]
    await ola.stop()
    ola.lines.clear()
    await ola.start()
    await central.wait_screens(2)
    active = await ola.wait_for(lambda ln: ln["event"] == "active")
    assert active["alarm_id"] == alarm["alarm_id"]
    assert active["state"] in ("raised", "received")
