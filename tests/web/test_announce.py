"""Evacuate / lock down / all clear from the console, the API and a desk's socket: who may,
the confirm step, the banner and the history with who and when, the audit trail, and a screen
connecting mid-evacuation getting it at once (a real central on a real server and broker)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect

from central.auth.rules import Action, allowed
from central.core import Person, Role
from tests.central.helpers import KARI, OTHER_SITE, SITE, until
from tests.support.broker import Broker
from tests.web.console import Console, console, csrf_in

MAY = {Role.LEADER, Role.FACILITY_MANAGER, Role.RESPONDER, Role.ADMIN}


@pytest.mark.parametrize("role", list(Role))
def test_the_rule_names_who_may_announce(role: Role) -> None:
    person = Person("p", "P", "", frozenset({"*"}), frozenset({role}))
    assert allowed(person, Action.ANNOUNCE) == (role in MAY)
    assert not allowed(None, Action.ANNOUNCE)


async def _api(c: Console, role: Role, body: dict[str, Any]) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {c.tokens[role]}"}
    async with c.client() as client:
        answer = await client.post("/api/announcements", json=body, headers=headers)
    return answer.status_code, answer.json()


async def test_the_api_both_ways_for_every_role(broker: Broker, tmp_path: Path) -> None:
    async with console(broker, tmp_path) as c:
        central = c.running.central
        for role in Role:
            status, body = await _api(c, role, {"site": SITE, "kind": "lockdown"})
            if role not in MAY:
                assert status == 403, (role, body)
                assert central.announcing.book.current(SITE) is None
                continue
            assert status == 200, (role, body)
            assert body["active"]["kind"] == "lockdown"
            assert body["active"]["by"] == f"user-{role.value}"
            status, body = await _api(c, role, {"site": SITE, "kind": "all_clear"})
            assert (status, body) == (200, {"site": SITE, "active": None})
        history = central.announcing.book.history(SITE)
        assert [a.kind.value for a in history] == ["all_clear", "lockdown"] * len(MAY)
        # "All clear" with nothing on is accepted (recorded, told to every screen and edge:
        # it ends whatever may still show out there).
        assert await _api(c, Role.ADMIN, {"site": SITE, "kind": "all_clear"}) == (
            200,
            {"site": SITE, "active": None},
        )
        # Refusals: an unknown zone, a site that is not there.
        zone = {"site": SITE, "kind": "evacuate", "zone": "kjeller"}
        assert await _api(c, Role.ADMIN, zone) == (409, {"detail": "unknown_zone"})
        assert (await _api(c, Role.ADMIN, {"site": "tromso", "kind": "evacuate"}))[0] == 404
        assert len(central.announcing.book.history(SITE)) == 2 * len(MAY) + 1
        async with c.client() as client:
            headers = {"Authorization": f"Bearer {c.tokens[Role.SAFETY_REP]}"}
            read = (await client.get("/api/announcements", headers=headers)).json()
        assert read["active"] == []
        assert [a["kind"] for a in read["history"][:3]] == ["all_clear", "all_clear", "lockdown"]


async def test_a_site_not_yours_answers_as_one_that_is_not_there(
    broker: Broker, tmp_path: Path
) -> None:
    """Kari covers Oslo only: Bergen (there, not hers) and Tromsø (not there) get the same
    answer, so nobody can probe which site ids exist; neither changes anything."""
    async with console(broker, tmp_path) as c:
        central = c.running.central
        headers = {"Authorization": f"Bearer {KARI}"}
        answers = []
        async with c.client() as client:
            for site in (OTHER_SITE, "tromso"):
                for kind in ("evacuate", "all_clear"):
                    body = {"site": site, "kind": kind}
                    answer = await client.post("/api/announcements", json=body, headers=headers)
                    answers.append((answer.status_code, answer.json()))
            mine = await client.post(
                "/api/announcements", json={"site": SITE, "kind": "lockdown"}, headers=headers
            )
        assert answers == [
            (404, {"detail": f"no such site: {OTHER_SITE}"}),
            (404, {"detail": f"no such site: {OTHER_SITE}"}),
            (404, {"detail": "no such site: tromso"}),
            (404, {"detail": "no such site: tromso"}),
        ]
        assert central.announcing.book.history(OTHER_SITE) == []
        assert mine.status_code == 200, mine.text


async def test_the_console_confirms_then_shows_banner_and_history(
    broker: Broker, tmp_path: Path
) -> None:
    async with console(broker, tmp_path) as c:
        central = c.running.central
        async with c.client(Role.FACILITY_MANAGER) as fm:
            board = await fm.get("/board")
            assert 'href="/board/announce?site=oslo-sentrum&amp;kind=evacuate"' in board.text
            confirm = await fm.get("/board/announce", params={"site": SITE, "kind": "evacuate"})
            assert confirm.status_code == 200
            assert 'name="zone"' in confirm.text
            assert "Publikumssone" in confirm.text
            form = {"csrf": csrf_in(confirm.text), "site": SITE, "kind": "evacuate"}
            # Without the confirm step's field: nothing happens.
            unconfirmed = await fm.post("/board/announce", data={**form, "confirm": "no"})
            assert unconfirmed.headers["location"] == "/board?done=unconfirmed"
            assert central.announcing.book.current(SITE) is None
            done = await fm.post(
                "/board/announce", data={**form, "confirm": "yes", "zone": "publikum"}
            )
            assert done.headers["location"] == "/board?done=announced_evacuate"
            current = central.announcing.book.current(SITE)
            assert current is not None
            assert (current.kind, current.zone, current.by) == (
                "evacuate",
                "publikum",
                "user-facility_manager",
            )
            board = await fm.get("/board")
            assert 'data-announcement="oslo-sentrum" data-kind="evacuate"' in board.text
            assert "EVAKUERING på" in board.text
            assert "sone publikum" in board.text
            assert "Varslet av User-Facility_Manager kl." in board.text
            history = await fm.get("/alarms")
            assert 'data-announcement-row="evacuate"' in history.text
            assert "User-Facility_Manager (Konsollen)" in history.text
            # The employee sees no control and may not open the confirm page.
        async with c.client(Role.EMPLOYEE) as employee:
            refused = await employee.get(
                "/board/announce", params={"site": SITE, "kind": "all_clear"}
            )
            assert refused.status_code == 403
        async with c.client(Role.LEADER) as leader:
            confirm = await leader.get(
                "/board/announce", params={"site": SITE, "kind": "all_clear"}
            )
            assert "Dette avslutter gjeldende varsel: Evakuer." in confirm.text
            form = {"csrf": csrf_in(confirm.text), "site": SITE, "kind": "all_clear"}
            done = await leader.post("/board/announce", data={**form, "confirm": "yes"})
            assert done.headers["location"] == "/board?done=announced_all_clear"
            board = await leader.get("/board")
            assert "data-announcement=" not in board.text
            assert 'data-announcement-row="all_clear"' in board.text
        async with c.client(Role.ADMIN) as admin:
            audit = await admin.get("/audit")
        assert "Evakuering eller innelåsing varslet, eller alt klart" in audit.text


async def _frames_until(ws: Any, wanted: str) -> list[dict[str, Any]]:
    seen = []
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), 10))
        seen.append(frame)
        if frame.get("type") == wanted:
            return seen


async def test_a_desk_announces_and_a_screen_connecting_later_gets_it(
    broker: Broker, tmp_path: Path
) -> None:
    async with console(broker, tmp_path) as c:
        url = c.url.replace("http", "ws") + "/ws"

        def bearer(role: Role) -> dict[str, str]:
            return {"Authorization": f"Bearer {c.tokens[role]}"}

        async with (
            connect(url, additional_headers=bearer(Role.EMPLOYEE)) as employee,
            connect(url, additional_headers=bearer(Role.RESPONDER)) as responder,
        ):
            # Nothing on: the snapshot lists no announcement, and no frame follows it.
            first = await _frames_until(employee, "snapshot")
            assert first[-1] == {"type": "snapshot", "alarms": [], "announcements": []}
            await _frames_until(responder, "snapshot")
            # An employee's desk may not: refused, nothing changes.
            await employee.send(json.dumps({"type": "announce", "site": SITE, "kind": "evacuate"}))
            error = (await _frames_until(employee, "error"))[-1]
            assert error["reason"] == f"forbidden: announce {SITE}"
            assert c.running.central.announcing.book.current(SITE) is None
            # A responder's desk may: every screen of the site is told, with the routine.
            await responder.send(json.dumps({"type": "announce", "site": SITE, "kind": "evacuate"}))
            told = (await _frames_until(employee, "announcement"))[-1]
            assert (told["kind"], told["by"], told["by_name"]) == (
                "evacuate",
                "user-responder",
                "User-Responder",
            )
            assert told["routine"]["title"]["en"].startswith("EVACUATE")
            assert len(told["routine"]["steps"]["nb"]) >= 3
            # A screen connecting now gets it in its snapshot (the frame the others got).
            async with connect(url, additional_headers=bearer(Role.LEADER)) as late:
                frames = await _frames_until(late, "snapshot")
                assert [f["type"] for f in frames] == ["hello", "snapshot"]
                assert frames[-1]["announcements"] == [told]
            await responder.send(
                json.dumps({"type": "announce", "site": SITE, "kind": "all_clear"})
            )
            ended = (await _frames_until(employee, "announcement"))[-1]
            assert (ended["kind"], ended["by"]) == ("all_clear", "user-responder")
        await until(
            lambda: c.running.central.announcing.book.current(SITE) is None, what="all clear"
        )
