"""Standby for risky meetings over a real central (central.api.meetings, central.web.meetings):
register, answer, list, end and cancel; bad input refused with nothing changed; kept on disk;
the console's page and the board."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx

from central.core import Role
from central.store import meetings as stored
from tests.central.helpers import OTHER_SITE, SITE
from tests.support.broker import Broker
from tests.web.console import Console, console, csrf_in
from tests.web.test_mobile_api import phone_token

EMPLOYEE, RESPONDER, LEADER = Role.EMPLOYEE, Role.RESPONDER, Role.LEADER


def bearer(c: Console, role: Role) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {c.tokens[role]}"}
    return httpx.AsyncClient(base_url=c.url, headers=headers, timeout=10)


def body(**changes: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    base = {
        "site": SITE,
        "room": "Møterom 101",
        "start": (now - timedelta(minutes=5)).isoformat(),
        "end": (now + timedelta(hours=1)).isoformat(),
        "concern": "high",
        "note": "threats at the last meeting",
        "standby": ["user-responder"],
    }
    return {**base, **changes}


async def stored_rows(c: Console) -> list[Any]:
    return await c.running.central.read(stored.meetings)


async def test_register_answer_end_and_the_record_kept(broker: Broker, tmp_path: Path) -> None:
    async with (
        console(broker, tmp_path) as c,
        bearer(c, EMPLOYEE) as employee,
        bearer(c, RESPONDER) as responder,
        bearer(c, LEADER) as leader,
    ):
        made = await employee.post("/api/meetings", json=body())
        assert made.status_code == 201, made.text
        meeting = made.json()
        mid = meeting["meeting_id"]
        assert meeting["owner"] == "user-employee"
        assert meeting["standby"] == [
            {"user": "user-responder", "name": "User-Responder", "answer": "asked", "at": None}
        ]
        assert meeting["confirmed"] == []

        # The responder sees the request, confirms; the employee sees who confirmed.
        asked = (await responder.get("/api/meetings")).json()
        assert [m["meeting_id"] for m in asked["asked"]] == [mid]
        answered = await responder.post(f"/api/meetings/{mid}/answer", json={"confirm": True})
        assert answered.status_code == 200, answered.text
        mine = (await employee.get("/api/meetings")).json()
        assert mine["mine"][0]["confirmed"] == ["User-Responder"]
        assert mine["site"] == []  # an employee does not read the site's meetings

        # Someone else answering the request: refused, nothing changed.
        other = await leader.post(f"/api/meetings/{mid}/answer", json={"confirm": False})
        assert (other.status_code, other.json()["detail"]) == (403, "not_asked")
        site = (await leader.get("/api/meetings/site")).json()["meetings"]
        assert site[0]["standby"][0]["answer"] == "confirmed"
        assert (await employee.get("/api/meetings/site")).status_code == 403
        assert (await responder.post(f"/api/meetings/{mid}/end")).status_code == 404

        # The board names the standby on the room during the window.
        async with c.client(LEADER) as page:
            board = await page.get("/board/live")
        assert 'data-standby-room="Møterom 101"' in board.text
        assert "Beredskap: User-Responder" in board.text

        ended = await employee.post(f"/api/meetings/{mid}/end")
        assert ended.status_code == 200
        assert ended.json()["ended_at"] is not None
        again = await employee.post(f"/api/meetings/{mid}/cancel")
        assert (again.status_code, again.json()["detail"]) == (422, "meeting_over")
        async with c.client(LEADER) as page:
            board = await page.get("/board/live")
        assert "data-standby-room" not in board.text

        [row] = await stored_rows(c)
        assert row == c.running.central.standby.book.get(row.meeting_id)
        assert row.ended_at is not None
        assert [x.answer.value for x in row.colleagues] == ["confirmed"]


async def test_cancelling_is_recorded(broker: Broker, tmp_path: Path) -> None:
    async with console(broker, tmp_path) as c, bearer(c, EMPLOYEE) as employee:
        outside = body(room=None, address="Storgata 1, Oslo", any_responder=True, standby=[])
        made = await employee.post("/api/meetings", json=outside)
        assert made.status_code == 201, made.text
        asked = {s["user"] for s in made.json()["standby"]}
        assert {"kari", "ola", "user-responder", "user-leader"} <= asked
        assert "per" not in asked  # a responder of another site only
        mid = made.json()["meeting_id"]
        cancelled = await employee.post(f"/api/meetings/{mid}/cancel")
        assert cancelled.json()["cancel_reason"] == "I decided not to hold this meeting"
        [row] = await stored_rows(c)
        assert row.cancelled_at is not None
        assert row.address == "Storgata 1, Oslo"


async def test_bad_input_is_refused_and_nothing_is_kept(broker: Broker, tmp_path: Path) -> None:
    now = datetime.now(UTC)
    cases = [
        (body(end=(now - timedelta(minutes=10)).isoformat()), 422, "end_before_start"),
        (
            body(
                start=(now - timedelta(hours=2)).isoformat(),
                end=(now - timedelta(hours=1)).isoformat(),
            ),
            422,
            "window_in_the_past",
        ),
        (body(standby=["user-safety_rep"]), 422, "not_a_responder_of_the_site"),
        (body(standby=["per"]), 422, "not_a_responder_of_the_site"),  # of another site
        (body(standby=["nobody"]), 422, "not_a_responder_of_the_site"),
        (body(room="Kjelleren"), 422, "unknown_room"),
        (body(site=OTHER_SITE + "-x"), 403, "not_your_site"),
    ]
    async with console(broker, tmp_path) as c, bearer(c, EMPLOYEE) as employee:
        for sent, code, reason in cases:
            answer = await employee.post("/api/meetings", json=sent)
            assert (answer.status_code, answer.json()["detail"]) == (code, reason), sent
        long_note = await employee.post("/api/meetings", json=body(note="x" * 201))
        assert long_note.status_code == 422
        assert await stored_rows(c) == []
        assert c.running.central.standby.book.of("user-employee") == ()
        unknown = await employee.post(f"/api/meetings/{uuid4()}/end")
        assert (unknown.status_code, unknown.json()["detail"]) == (404, "unknown_meeting")


async def test_the_console_page_registers_with_its_form(broker: Broker, tmp_path: Path) -> None:
    async with console(broker, tmp_path) as c, c.client(EMPLOYEE) as browser:
        page = await browser.get("/meetings")
        assert page.status_code == 200
        assert "Ikke skriv navnet på klienten" in page.text
        now = datetime.now(UTC) + timedelta(days=1)  # the site's local time, a day ahead
        form = {
            "csrf": csrf_in(page.text),
            "site": SITE,
            "where": "Møterom 101",
            "start": now.strftime("%Y-%m-%dT%H:%M"),
            "end": (now + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
            "concern": "medium",
            "note": "first meeting",
            "standby": ["kari", "ola"],
        }
        done = await browser.post("/meetings", data=form)
        assert (done.status_code, done.headers["location"]) == (303, "/meetings?done=registered")
        [row] = await stored_rows(c)
        assert [x.user for x in row.colleagues] == ["kari", "ola"]
        assert row.concern.value == "medium"
        without_csrf = await browser.post("/meetings", data={**form, "csrf": "0" * 40})
        assert without_csrf.status_code == 403
        listed = await browser.get("/meetings?done=registered")
        assert "Kari Nordmann (spurt)" in listed.text
        assert "Registrert: kollegene dine blir spurt" in listed.text
        # Ended from the page's own form: recorded, and said.
        ended = await browser.post(
            f"/meetings/{row.meeting_id}/end", data={"csrf": csrf_in(listed.text)}
        )
        assert ended.headers["location"] == "/meetings?done=ended"
        [row] = await stored_rows(c)
        assert row.ended_at is not None


async def test_a_phone_alarm_of_the_employee_during_the_meeting_names_the_standby(
    broker: Broker, tmp_path: Path
) -> None:
    """Outside the office: the employee's own phone alarm names the confirmed colleague."""
    async with (
        console(broker, tmp_path) as c,
        bearer(c, EMPLOYEE) as employee,
        bearer(c, RESPONDER) as responder,
    ):
        outside = body(room=None, address="Storgata 1, Oslo")
        mid = (await employee.post("/api/meetings", json=outside)).json()["meeting_id"]
        await responder.post(f"/api/meetings/{mid}/answer", json={"confirm": True})
        phone = await phone_token(c, "user-employee")
        alarm_id = uuid4()
        raised = {"level": "acute", "raised_at": datetime.now(UTC).isoformat()}
        async with httpx.AsyncClient(
            base_url=c.url, headers={"Authorization": f"Bearer {phone['token']}"}, timeout=10
        ) as client:
            sent = await client.put(f"/api/mobile/alarms/{alarm_id}", json=raised)
        assert sent.status_code == 200, sent.text
        view = c.running.central.book.get(alarm_id)
        assert view is not None
        assert [(s.user, s.name) for s in view.standby] == [("user-responder", "User-Responder")]
        # Another employee's alarm names nobody.
        other = c.running.central.standby.book.standby_for(SITE, frozenset(), "ola", view.raised_at)
        assert other == ()
