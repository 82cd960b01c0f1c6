"""A manual test round left open closes by itself, and every screen of the site knows of it.

Real ``trygg-central`` (rounds last 3 s here), real Mosquitto, headless ``trygg-desk``
processes, the edge agent on mock pins, and a raw websocket screen that reads the frames.
While the round is open every screen is told (a ``round`` frame); once it has expired, the
tester's first press of a button is a real alarm on every screen, and the test log says
"expired".
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect

from protocol.screen import AnyServerFrame, RoundFrame, decode_server_frame
from tests.e2e.conftest import RunningEdge
from tests.support.broker import Broker
from tests.support.selftest_stack import MANAGER, USERS, SelftestCentral
from tests.support.stack import SITE, Desk, Login, running_desks

# The facility manager's console login (the board is a page, and a page needs a session: her
# config user, with the desk's token, has no password).
BOARD = Login("frida-web", USERS[MANAGER], ("facility_manager",))


@pytest.fixture
def central(broker: Broker, tmp_path: Path) -> Iterator[SelftestCentral]:
    c = SelftestCentral(broker, tmp_path)
    c.config.write_text(c.config.read_text() + "[test_rounds]\nmax_duration_s = 3\n")
    c.start()
    try:
        c.add_logins(BOARD)
        yield c
    finally:
        c.stop()


@pytest.fixture
async def desks(central: SelftestCentral, tmp_path: Path) -> AsyncIterator[dict[str, Desk]]:
    async with running_desks(central, (MANAGER, "kari"), tmp_path) as started:
        yield started


async def next_round(ws: ClientConnection, within: float = 20) -> RoundFrame:
    async def read() -> RoundFrame:
        while True:
            frame: AnyServerFrame = decode_server_frame(await ws.recv())
            if isinstance(frame, RoundFrame):
                return frame

    return await asyncio.wait_for(read(), within)


def is_alarm(line: dict[str, Any]) -> bool:
    return line["event"] in ("alarm", "active")


async def test_an_open_round_is_shown_everywhere_and_expires_into_real_alarms(
    central: SelftestCentral, desks: dict[str, Desk], edge: RunningEdge
) -> None:
    await central.device_online("rom-101")
    browser = central.log_in(BOARD.user)  # before the round: it lasts 3 s
    auth = {"Authorization": f"Bearer {central.tokens['kari']}"}
    async with connect(central.ws_url, additional_headers=auth) as watching:
        started = await asyncio.to_thread(
            central.api, "POST", "/api/test-rounds", json={"site": SITE}
        )
        told = await next_round(watching)
        assert (told.site, told.tester, told.open) == (SITE, MANAGER, True)
        assert str(told.round_id) == started["round_id"]
        # A screen that connects during the round hears of it right after its snapshot.
        async with connect(central.ws_url, additional_headers=auth) as late:
            assert (await next_round(late)).round_id == told.round_id
        # The console's board says it too.
        async with browser.async_client() as console:
            board = (await console.get("/board/live")).text
        assert f'data-test-round="{told.round_id}"' in board
        # Nobody closes it: it closes itself at expires_at (3 s), as expired.
        ended = await next_round(watching)
        assert (ended.round_id, ended.open, ended.expired) == (told.round_id, False, True)

    edge.press(17)  # the tester's first press of this button: a real alarm now, for everyone
    real = await desks["kari"].wait_for(is_alarm)
    assert real["test"] is False
    assert real["input"] == "desk"
    mine = await desks[MANAGER].wait_for(is_alarm)
    assert mine["alarm_id"] == real["alarm_id"]
    assert mine["test"] is False
    assert [a["alarm_id"] for a in central.alarms("kari")] == [real["alarm_id"]]

    [logged] = central.api("GET", "/api/tests", params={"kind": "manual_round"})["runs"]
    assert logged["reason"].startswith("expired after 3 s (closed by itself); "), logged
    shown = central.api("GET", f"/api/test-rounds/{told.round_id}")
    assert shown["state"] == "closed"
