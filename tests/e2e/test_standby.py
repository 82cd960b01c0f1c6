"""Standby for a risky meeting (2.2) on real processes: ``trygg-central``, headless
``trygg-desk``s, Mosquitto, and an edge agent on gpiozero mock pins.

Anne (an employee) registers a meeting in Møterom 101 with Kari on standby. Kari is a
responder of the neighbouring office: her headless desk gets the request and she confirms
from stdin; the board shows "Beredskap: Kari Nordmann" on the room. A press on the room's
button then reaches Kari's desk although the alarm is not of her site, and every desk's alarm
names her; once Anne ends the meeting, the next press goes to the site only, naming nobody.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from tests.e2e.conftest import RunningEdge
from tests.support.broker import Broker
from tests.support.stack import SITE, Central, Login, running_desks

NEIGHBOUR = "bergen"
# The first user reads health details (stack.Central.health): a responder.
USERS = {"kari": "Kari Nordmann", "ola": "Ola Hansen", "anne": "Anne Ansatt"}


def alarm_line(alarm_id: str | None = None) -> Callable[[dict[str, Any]], bool]:
    return lambda ln: ln["event"] == "alarm" and alarm_id in (None, ln["alarm_id"])


async def until_true(check: Callable[[], Any], what: str, timeout: float = 15) -> Any:
    for _ in range(int(timeout / 0.1)):
        found = await check()
        if found:
            return found
        await asyncio.sleep(0.1)
    raise AssertionError(f"not within {timeout} s: {what}")


async def test_standby_gets_the_request_confirms_and_gets_the_rooms_alarm(
    broker: Broker, tmp_path: Path, edge: RunningEdge
) -> None:
    central = Central(
        broker,
        tmp_path,
        {user: name for user, name in USERS.items() if user != "ola"},
        sites=(SITE, NEIGHBOUR),
        devices=((SITE, "rom-101", "Møterom 101"),),
        user_sites={"anne": (SITE,), "kari": (NEIGHBOUR,)},
        roles={"anne": ("employee",)},
        site_extra={SITE: (f'neighbours = ["{NEIGHBOUR}"]',)},
    )
    central.start()

    def client(user: str) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {central.tokens[user]}"}
        return httpx.AsyncClient(base_url=central.url, headers=headers, timeout=10)

    try:
        # Ola opens the board, a page: an account with a password (and his desk's token).
        central.add_logins(Login("ola", USERS["ola"], ("responder",), (SITE,), desk_token=True))
        async with (
            running_desks(central, ("kari", "ola"), tmp_path) as desks,
            client("anne") as anne,
            central.log_in("ola").async_client() as ola,
        ):
            kari_desk, ola_desk = desks["kari"], desks["ola"]
            now = datetime.now(UTC)
            meeting = {
                "site": SITE,
                "room": "Møterom 101",
                "start": (now - timedelta(minutes=1)).isoformat(),
                "end": (now + timedelta(hours=1)).isoformat(),
                "concern": "high",
                "note": "threats at the last meeting",
                "standby": ["kari"],
            }
            made = await anne.post("/api/meetings", json=meeting)
            assert made.status_code == 201, made.text
            mid = made.json()["meeting_id"]

            # Kari's desk shows the request; she confirms from stdin.
            request = await kari_desk.wait_for(
                lambda ln: ln["event"] == "standby" and ln["meeting_id"] == mid
            )
            assert (request["owner_name"], request["room"]) == ("Anne Ansatt", "Møterom 101")
            assert request["answer"] == "asked"
            await kari_desk.send(f"standby {mid} yes")
            confirmed = await kari_desk.wait_for(
                lambda ln: ln["event"] == "standby" and ln["answer"] == "confirmed"
            )
            assert confirmed["meeting_id"] == mid

            async def anne_sees_kari() -> bool:
                mine = (await anne.get("/api/meetings")).json()["mine"]
                return bool(mine[0]["confirmed"] == ["Kari Nordmann"])

            await until_true(anne_sees_kari, "Anne sees Kari confirmed")

            # The board shows the standby on the room during the window.
            board = await ola.get("/board/live")
            assert board.status_code == 200
            assert 'data-standby-room="Møterom 101"' in board.text
            assert "Beredskap: Kari Nordmann" in board.text

            # A press in the room: Kari (of another site) gets it, every desk names her.
            edge.press(17)
            first = await kari_desk.wait_for(alarm_line())
            assert first["site"] == SITE
            assert [s["name"] for s in first["standby"]] == ["Kari Nordmann"]
            seen = await ola_desk.wait_for(alarm_line(first["alarm_id"]))
            assert [s["user"] for s in seen["standby"]] == ["kari"]
            # Kari may answer it: she is coming.
            await kari_desk.send(f"coming {first['alarm_id']}")
            await ola_desk.wait_for(
                lambda ln: (
                    ln["alarm_id"] == first["alarm_id"]
                    and [r["user"] for r in ln.get("responders", [])] == ["kari"]
                )
            )
            board = await ola.get("/board/live")  # the alarm's card names the standby too
            card = board.text.split(f'data-alarm="{first["alarm_id"]}"')[1]
            assert "data-standby><strong>Beredskap: Kari Nordmann</strong>" in card
            assert "standby first: Kari Nordmann" in central.log.read_text()

            # Ended: the next press goes to the site only, naming nobody.
            ended = await anne.post(f"/api/meetings/{mid}/end")
            assert ended.status_code == 200, ended.text
            board = await ola.get("/board/live")
            assert "data-standby-room" not in board.text
            edge.press(22)
            after = await ola_desk.wait_for(
                lambda ln: ln["event"] == "alarm" and ln["alarm_id"] != first["alarm_id"]
            )
            assert after.get("standby", []) == []
            await ola_desk.wait_for(
                lambda ln: ln["alarm_id"] == after["alarm_id"] and ln["state"] == "received"
            )
            assert not [ln for ln in kari_desk.lines if ln.get("alarm_id") == after["alarm_id"]]
    finally:
        central.stop()


async def test_a_cancelled_meeting_does_not_route_and_bad_answers_change_nothing(
    broker: Broker, tmp_path: Path, edge: RunningEdge
) -> None:
    central = Central(
        broker,
        tmp_path,
        USERS,
        devices=((SITE, "rom-101", "Møterom 101"),),
        roles={"anne": ("employee",)},
    )
    central.start()
    headers = {"Authorization": f"Bearer {central.tokens['anne']}"}
    try:
        async with (
            running_desks(central, ("kari", "ola"), tmp_path) as desks,
            httpx.AsyncClient(base_url=central.url, headers=headers, timeout=10) as anne,
        ):
            now = datetime.now(UTC)
            meeting = {
                "room": "Møterom 101",
                "start": (now - timedelta(minutes=1)).isoformat(),
                "end": (now + timedelta(hours=1)).isoformat(),
                "concern": "medium",
                "standby": ["kari"],
            }
            mid = (await anne.post("/api/meetings", json=meeting)).json()["meeting_id"]
            await desks["kari"].wait_for(lambda ln: ln.get("meeting_id") == mid)
            # Ola was not asked: his answer is refused and changes nothing.
            await desks["ola"].send(f"standby {mid} yes")
            await desks["kari"].send(f"standby {mid} yes")
            await desks["kari"].wait_for(lambda ln: ln.get("answer") == "confirmed")
            mine = (await anne.get("/api/meetings")).json()["mine"][0]
            assert [(s["user"], s["answer"]) for s in mine["standby"]] == [("kari", "confirmed")]
            assert "not_asked: standby_answer" in desks["ola"].log.read_text()

            cancelled = await anne.post(f"/api/meetings/{mid}/cancel")
            assert cancelled.json()["cancel_reason"] == "I decided not to hold this meeting"
            edge.press(17)
            for desk in desks.values():  # both of the site: both get it, naming nobody
                line = await desk.wait_for(alarm_line())
                assert line.get("standby", []) == []

            # The record of the assessment survives a restart of central, as it was.
            central.stop()
            central.start()
            [kept] = (await anne.get("/api/meetings")).json()["mine"]
            assert kept["meeting_id"] == mid
            assert kept["cancel_reason"] == "I decided not to hold this meeting"
            assert [(s["user"], s["answer"]) for s in kept["standby"]] == [("kari", "confirmed")]
    finally:
        central.stop()
