"""Routines read (STANDARD 1.1, 3.6) on the desk, with real processes: ``trygg-central``,
headless ``trygg-desk``s and Mosquitto.

Eva (an employee) and Ola (a responder) have not confirmed the routines: each desk is asked
when it connects (central's ``hello`` says so) and names the console's routines page; a
headless desk says it on stderr, leaving stdout to alarms. Eva signs in to the console (a
session: a token is no login), reads the page and confirms the version it shows: central tells
her open desk at once, and the ask is withdrawn; Ola's desk is told nothing of hers. The office
then changes a routine and restarts central: the desks reconnect, and both are asked again,
Eva's saying that the routines have changed."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from central.drillplan import SHIPPED_DRILLS
from tests.support.broker import Broker
from tests.support.stack import SITE, Central, Desk, Login, running_desks

ASKED = r"routines not confirmed \(version ([0-9a-f]+)\): (.+); read them and confirm at (\S+)"


def said_so_far(desk: Desk) -> str:
    return desk.log.read_text(errors="replace")


async def said(desk: Desk, pattern: str, since: int = 0, timeout: float = 15) -> re.Match[str]:
    """The first match of ``pattern`` in what the desk said on stderr after offset ``since``
    (bounded polling of its log)."""
    for _ in range(int(timeout / 0.05)):
        found = re.search(pattern, said_so_far(desk)[since:])
        if found:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"desk {desk.user} did not say {pattern!r}:\n{said_so_far(desk)[-2000:]}")


async def test_the_desk_asks_until_the_console_confirms_and_a_change_asks_again(
    broker: Broker, tmp_path: Path
) -> None:
    plan = tmp_path / "drills.toml"
    plan.write_text(SHIPPED_DRILLS.read_text())
    central = Central(
        broker,
        tmp_path,
        {},
        devices=((SITE, "rom-101", "Møterom 101"),),
        extra=("[routines]", f'drills = "{plan}"'),
    )
    central.start()
    try:
        central.add_logins(  # the first token reads health details: a responder's
            Login("ola", "Ola Nordmann", ("responder",), (SITE,), desk_token=True),
            Login("eva", "Eva Ansatt", ("employee",), (SITE,), desk_token=True),
        )
        async with running_desks(central, ("eva", "ola"), tmp_path) as desks:
            eva_desk, ola_desk = desks["eva"], desks["ola"]
            asked = await said(eva_desk, ASKED)
            version, headline, url = asked.groups()
            assert headline == "Read the routines and confirm"  # never confirmed any version
            assert url == f"{central.url}/routines"
            await said(ola_desk, ASKED.replace("([0-9a-f]+)", version))  # the same routines

            # Eva reads the page in the console and confirms the version it shows.
            with central.log_in("eva").client() as eva:
                page = eva.get("/routines")
                assert 'data-read="no"' in page.text
                assert re.findall(r'data-version="([0-9a-f]+)"', page.text) == [version]
                confirmed = eva.post("/routines/read", data={"version": version})
                assert confirmed.status_code == 303
                assert "done=read" in confirmed.headers["location"]
            await said(eva_desk, rf"routines confirmed \(version {version}\)")
            # Ola's desk has only its own ask: nothing of Eva's was pushed to it.
            assert len(re.findall(r"routines (?:not )?confirmed", said_so_far(ola_desk))) == 1
            # stdout is the alarms' alone: the ask never shows there.
            assert eva_desk.lines == []
            assert ola_desk.lines == []

            # The office changes a routine and restarts central; the desks come back.
            central.stop()
            before = {desk.user: len(said_so_far(desk)) for desk in (eva_desk, ola_desk)}
            plan.write_text(plan.read_text().replace("per_year = 2", "per_year = 3"))
            central.start()
            again = await said(eva_desk, ASKED, before["eva"], timeout=30)
            assert again.group(1) != version
            assert again.group(2) == "The routines have changed – read and confirm"
            ola_again = await said(ola_desk, ASKED, before["ola"], timeout=30)
            assert ola_again.group(1) == again.group(1)
            assert ola_again.group(2) == "Read the routines and confirm"
    finally:
        central.stop()
