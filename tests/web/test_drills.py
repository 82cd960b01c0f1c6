"""Drills, training and routines read on a real central (central.web.drills): a drill raised
from the console and a room in drill mode, both marked DRILL and never counted as real alarms;
the drill log's four times, its CSV and the evaluation; the training register and the warning
at a meeting's registration; who has read the routines, and a changed routine asking again
(a real ``trygg-central`` restarted on its own files)."""

from __future__ import annotations

import csv
import io
import os
import re
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx

from central.core import Role
from central.drillplan import SHIPPED_DRILLS
from central.store import drills as stored_drills
from protocol import AlarmLevel, AlarmMessage
from protocol.screen import AlarmNew, Command, CommandKind, RaiseRequest, encode_frame
from tests.central.helpers import (
    SITE,
    alarm_message,
    frame_of,
    mqtt_tester,
    next_ack,
    publish,
    screen,
    until,
)
from tests.support.broker import Broker
from tests.support.small_disk import fill, mount_small_disk
from tests.support.stack import Central as CentralProcess
from tests.support.stack import Login, Session
from tests.web.console import console, csrf_in
from tests.web.test_meetings_api import body

LEADER, RESPONDER, EMPLOYEE, SAFETY_REP = (
    Role.LEADER,
    Role.RESPONDER,
    Role.EMPLOYEE,
    Role.SAFETY_REP,
)


def done_of(answer: httpx.Response) -> str:
    assert answer.status_code == 303, answer.text
    found = re.search(r"done=([\w]+)", answer.headers["location"])
    assert found, answer.headers["location"]
    return found.group(1)


def attr(html: str, name: str) -> list[str]:
    return re.findall(rf'{name}="([^"]*)"', html)


async def test_a_console_drill_goes_through_the_chain_is_logged_and_never_counted(
    broker: Broker, tmp_path: Path
) -> None:
    async with (
        console(broker, tmp_path) as c,
        c.signed_in(LEADER) as leader,
        c.signed_in(RESPONDER) as responder,
    ):
        central = c.running.central
        page = await leader.get("/drills")
        assert page.status_code == 200
        assert (
            f'data-overdue="{SITE}/"' in page.text
        )  # never drilled: overdue (the test log's rule)
        assert "Truende bruker" in page.text  # the shipped plan's scenario, in bokmål

        async with screen(c.running, c.tokens[RESPONDER]) as desk:
            raised = await leader.post(
                "/drills/raise",
                data={
                    "site": SITE,
                    "room": "mote-101",
                    "scenario": "truende-bruker",
                    "in_room": ["user-employee", "nobody"],
                },
            )
            assert done_of(raised) == "drill_raised"
            [drill] = central.book.active()
            assert drill.drill
            assert drill.level == "assist"  # the scenario's level
            assert drill.room == "Møterom 101"
            assert drill.raised_by == "user-leader"
            # The responder's screen gets it, marked drill, and shows it.
            frame = await frame_of(desk, AlarmNew, alarm_id=drill.alarm_id)
            assert frame.alarm.drill
            shown = Command(type=CommandKind.SHOWN, alarm_id=drill.alarm_id)
            await desk.send(encode_frame(shown))
            await until(lambda: central.book.on_screen(drill.alarm_id), what="shown")

            # The board: marked DRILL, and not counted as an alarm.
            board = (await leader.get("/board/live")).text
            assert "Aktive alarmer (0)" in board
            assert 'data-drill-count="1"' in board
            assert "data-drill-band" in board
            assert 'class="card level-assist drill"' in board

            assert (await responder.post(f"/alarms/{drill.alarm_id}/coming")).status_code == 303
            assert (await responder.post(f"/alarms/{drill.alarm_id}/resolve")).status_code == 303
            await until(
                lambda: (
                    (v := central.book.get(drill.alarm_id)) is not None and v.state == "resolved"
                ),
                what="resolved",
            )

        # The history marks it and counts it apart; "real alarms only" leaves it out.
        history = (await leader.get("/alarms")).text
        assert 'data-real-count="0" data-drill-count="1"' in history
        assert "data-drill" in history
        assert str(drill.alarm_id) not in (await leader.get("/alarms?kind=real")).text
        assert str(drill.alarm_id) in (await leader.get("/alarms?kind=drill")).text

        # The drill log: the four times and who answered, from the record.
        log = (await leader.get("/drills")).text
        row = log[log.index(f'data-drill="{drill.alarm_id}"') :]
        row = row[: row.index("</tr>")]
        for which in ("shown", "coming", "resolved"):
            cell = re.search(rf'data-time="{which}">([^<]*)<', row)
            assert cell, which
            assert cell.group(1).endswith(" s"), (which, cell.group(1))
        assert "User-Responder" in row
        assert "User-Employee" in row  # in the room
        assert "User-Leader" in row  # raised it
        assert f'data-overdue="{SITE}/truende-bruker"' not in log
        assert f'data-overdue="{SITE}/vold-pagar"' in log  # not rehearsed yet

        exported = await leader.get("/drills/log.csv")
        assert exported.status_code == 200
        rows = list(csv.DictReader(io.StringIO(exported.text.lstrip("\ufeff"))))
        assert len(rows) == 1
        line = rows[0]
        assert line["alarm_id"] == str(drill.alarm_id)
        assert line["kind"] == "console"
        assert float(line["seconds_to_shown"]) <= float(line["seconds_to_coming"])
        assert float(line["seconds_to_coming"]) <= float(line["seconds_to_resolved"])
        assert line["answered"] == "User-Responder"

        # The leader's evaluation, with the session's CSRF token like every console form.
        async with c.client(LEADER) as session:
            form = await session.get("/drills")
            note = "=Gikk bra; husk å lukke døra"
            saved = await session.post(
                f"/drills/{drill.alarm_id}/evaluation",
                data={"note": note, "csrf": csrf_in(form.text)},
            )
            assert done_of(saved) == "evaluated"
            assert "husk å lukke døra" in (await session.get("/drills")).text
        exported = await leader.get("/drills/log.csv")
        assert "'=Gikk bra" in exported.text  # a spreadsheet never runs it

        # The training register: everyone who took part, recorded by itself.
        register = (await leader.get("/training")).text
        took = set(attr(register, "data-took-part"))
        assert {"user-leader", "user-employee", "user-responder"} <= took
        untrained = set(attr(register, "data-untrained"))
        assert "user-employee" not in untrained
        assert "user-admin" in untrained

        async with c.signed_in(Role.ADMIN) as admin:
            audit = (await admin.get("/audit")).text
        assert "Øvelse utløst fra konsollet" in audit
        assert "Øvelse evaluert" in audit


async def test_drill_mode_makes_a_real_press_a_drill_and_only_there_and_then(
    broker: Broker, tmp_path: Path
) -> None:
    async with console(broker, tmp_path) as c, c.signed_in(LEADER) as leader:
        central = c.running.central
        started = await leader.post(
            "/drills/mode",
            data={
                "site": SITE,
                "room": "mote-101",
                "minutes": "5",
                "scenario": "vold-pagar",
                "in_room": ["user-employee"],
            },
        )
        assert done_of(started) == "mode_started"
        # Its button has never been heard: started, with a warning that a press it keeps
        # through an outage will be real.
        assert "warn=device_offline" in started.headers["location"]
        warned = (await leader.get(started.headers["location"])).text
        assert 'data-warning="device_offline"' in warned
        assert "ikke tilkoblet" in warned
        again = await leader.post(
            "/drills/mode", data={"site": SITE, "room": "mote-101", "minutes": "5"}
        )
        assert done_of(again) == "room_in_drill_mode"
        too_long = await leader.post(
            "/drills/mode", data={"site": SITE, "room": "mote-102", "minutes": "500"}
        )
        assert too_long.status_code == 422  # refused, and nothing changed
        [mode] = central.drilling.modes.active(central.clock())
        board = (await leader.get("/board/live")).text
        assert 'data-drill-mode="Møterom 101"' in board

        async with mqtt_tester(broker) as device:
            await device.subscribe(f"trygg/v1/{SITE}/rom-101/ack", qos=1)
            # A press the button kept in its outbox through an outage, made before the mode
            # began, arrives now: real (both clocks must say drill; in doubt, real).
            outage = alarm_message("rom-101").model_copy(
                update={"raised_at": mode.started_at - timedelta(seconds=30)}
            )
            await publish(device, outage)
            ack = await next_ack(device, alarm_id=str(outage.alarm_id))
            assert not ack.get("drill")
            kept = central.book.get(outage.alarm_id)
            assert kept is not None
            assert not kept.drill

            press = alarm_message("rom-101")
            await publish(device, press)
            ack = await next_ack(device, alarm_id=str(press.alarm_id))
            assert ack["drill"] is True  # the LED shows the drill pattern
            view = central.book.get(press.alarm_id)
            assert view is not None
            assert view.drill
            # A stuck or hijacked button in drill mode: drills have a flood budget of their
            # own, so they are contained (one card) without using up the room's real budget.
            for _ in range(12):
                await publish(device, alarm_message("rom-101"))
            # Another room is not in drill mode: a real alarm, whatever its payload says.
            elsewhere = AlarmMessage.model_validate(
                {**alarm_message("rom-102").model_dump(), "room": "Kontor", "drill": True}
            )
            await publish(device, elsewhere)
            await until(lambda: central.book.get(elsewhere.alarm_id) is not None, what="alarm")
            real = central.book.get(elsewhere.alarm_id)
            assert real is not None
            assert not real.drill
            await until(lambda: len(central.book.active()) == 15, what="every alarm")
            drill_card = (SITE, "drill:rom-101", False)
            await until(lambda: drill_card in central.flood_cards.merging(), what="drill card")
            assert list(central.flood_cards.merging()) == [drill_card]  # the real ones apart
            card = central.flood_cards.card(press.alarm_id)
            assert card is not None
            assert (card.flood, card.drill) == (13, True)
            faults = [f.reason for f in central.watch.supervisor.faults()]
            assert any(r.startswith("flood of drills from rom-101:") for r in faults), faults

            # A desk's silent alarm from the room is a drill only from someone rehearsing there.
            async with (
                screen(c.running, c.tokens[EMPLOYEE]) as eva,
                screen(c.running, c.tokens[RESPONDER]) as other,
            ):
                rehearsing, bystander = desk_raise(), desk_raise()
                await eva.send(encode_frame(rehearsing))
                await other.send(encode_frame(bystander))
                await until(
                    lambda: all(
                        central.book.get(r.alarm_id) is not None for r in (rehearsing, bystander)
                    ),
                    what="both silent alarms",
                )
            desk_drill = central.book.get(rehearsing.alarm_id)
            desk_real = central.book.get(bystander.alarm_id)
            assert desk_drill is not None
            assert desk_drill.drill
            assert desk_real is not None
            assert not desk_real.drill

            # Ending the mode ends its drills still open: "drill mode ended" on their timeline.
            ended = await leader.post(f"/drills/mode/{mode.mode_id}/end")
            assert done_of(ended) == "mode_ended"
            ack = await next_ack(device, alarm_id=str(press.alarm_id), state="resolved")
            assert ack["drill"] is True  # the LED: the drill's end, in its pattern
            await until(
                lambda: not any(a.drill for a in central.book.active()), what="drills resolved"
            )
            await until(lambda: not central.flood_cards.merging(), what="the drill card gone")
            after = alarm_message("rom-101")
            await publish(device, after)
            ack = await next_ack(device, alarm_id=str(after.alarm_id))
            assert not ack.get("drill")
            found = central.book.get(after.alarm_id)
            assert found is not None
            assert not found.drill
            assert central.flood_cards.card(after.alarm_id) is None  # a card of its own
            assert not central.flood_cards.merging()

        timeline = (await leader.get(f"/alarms/{press.alarm_id}")).text
        assert "øvelsesmodus avsluttet" in timeline
        # The board counts only the real ones; no drill is in progress any more.
        board = (await leader.get("/board/live")).text
        assert "Aktive alarmer (4)" in board  # the outage press, elsewhere, a desk, after
        assert "data-drill-count" not in board
        log = (await leader.get("/drills")).text
        assert log.count("data-drill=") == 14  # every drill is in the log, each once
        assert "knapp i øvelsesmodus" in log


def desk_raise() -> RaiseRequest:
    return RaiseRequest(
        alarm_id=uuid4(),
        level=AlarmLevel.ASSIST,
        site=SITE,
        room="Møterom 101",
        raised_at=datetime.now(UTC),
    )


async def test_a_drill_mode_the_store_did_not_take_is_no_drill_mode(
    broker: Broker, tmp_path: Path
) -> None:
    """Central's database on a small disk, filled: starting drill mode is refused ("not
    saved") and nothing is in force; ending one whose end is not saved leaves it in force."""
    disk = tmp_path / "disk"
    mount_small_disk(disk)
    try:
        async with console(broker, disk) as c, c.signed_in(LEADER) as leader:
            central = c.running.central
            form = {"site": SITE, "room": "mote-101", "minutes": "5"}
            filler = fill(disk)
            refused = await leader.post("/drills/mode", data=form)
            assert done_of(refused) == "not_stored"
            assert central.drilling.modes.active(central.clock()) == ()
            assert "Ikke lagret" in (await leader.get(refused.headers["location"])).text
            os.unlink(filler)

            assert done_of(await leader.post("/drills/mode", data=form)) == "mode_started"
            [mode] = central.drilling.modes.active(central.clock())
            filler = fill(disk)
            kept = await leader.post(f"/drills/mode/{mode.mode_id}/end")
            assert done_of(kept) == "not_stored"
            assert central.drilling.modes.active(central.clock()) == (mode,)  # still on
            os.unlink(filler)
            assert done_of(await leader.post(f"/drills/mode/{mode.mode_id}/end")) == "mode_ended"
            assert central.drilling.modes.active(central.clock()) == ()
            assert await central.store.read(stored_drills.open_modes) == []
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)  # noqa: ASYNC221


async def test_the_meeting_registration_warns_an_untrained_employee(
    broker: Broker, tmp_path: Path
) -> None:
    async with (
        console(broker, tmp_path) as c,
        c.signed_in(EMPLOYEE) as employee,
        c.signed_in(LEADER) as leader,
    ):
        made = await employee.post("/api/meetings", json=body())
        assert made.status_code == 201, made.text  # a warning, never a refusal
        assert made.json()["warnings"] == ["no_training"]
        assert "data-no-training" in (await employee.get("/meetings")).text

        refused = await leader.post(
            "/training",
            data={"site": SITE, "held_on": "2999-01-01", "title": "Kurs", "people": ["x"]},
        )
        assert done_of(refused) == "bad_input"
        added = await leader.post(
            "/training",
            data={
                "site": SITE,
                "held_on": "2025-01-15",
                "title": "Kurs i konflikthåndtering",
                "people": ["user-employee", "user-employee", "unknown"],
            },
        )
        assert done_of(added) == "training_added"
        made = await employee.post("/api/meetings", json=body())
        assert made.json()["warnings"] == []
        assert "data-no-training" not in (await employee.get("/meetings")).text
        register = (await leader.get("/training")).text
        assert "Kurs i konflikthåndtering" in register
        assert attr(register, "data-took-part") == ["user-employee"]
        # Only a leader (or admin) records training; the safety representative reads.
        async with c.signed_in(SAFETY_REP) as rep:
            assert (await rep.get("/training")).status_code == 200
            denied = await rep.post(
                "/training", data={"site": SITE, "held_on": "2025-01-15", "title": "x"}
            )
            assert denied.status_code == 403


# --- routines read, on a real trygg-central restarted with a changed routine ---------------------


def _get(session: Session, path: str) -> httpx.Response:
    with session.client() as browser:
        return browser.get(path)


def _post(session: Session, path: str, data: dict[str, Any]) -> httpx.Response:
    with session.client() as browser:
        return browser.post(path, data=data)


def test_routines_read_is_confirmed_and_a_changed_routine_asks_again(
    broker: Broker, tmp_path: Path
) -> None:
    """Also: a room in drill mode stays in drill mode across the restart (the record). The
    people are accounts with a password: the pages need a session (a token is no login)."""
    plan = tmp_path / "drills.toml"
    plan.write_text(SHIPPED_DRILLS.read_text())
    central = CentralProcess(
        broker,
        tmp_path,
        {},
        devices=(("oslo-sentrum", "rom-101", "Møterom 101"),),
        extra=("[routines]", f'drills = "{plan}"'),
    )
    central.start()
    try:
        central.add_logins(
            Login("eva", "Eva Ansatt", ("employee",)),
            Login("vera", "Vera Verneombud", ("safety_rep",)),
            Login("ola", "Ola Nordmann", ("responder",)),
            Login("lea", "Lea", ("leader",)),
        )
        eva, vera, lea = (central.log_in(user) for user in ("eva", "vera", "lea"))
        page = _get(eva, "/routines")
        assert 'data-read="no"' in page.text
        [version] = attr(page.text, "data-version")
        stale = _post(eva, "/routines/read", {"version": "0" * 16})
        assert done_of(stale) == "routines_changed"
        assert done_of(_post(eva, "/routines/read", {"version": version})) == "read"
        assert 'data-read="yes"' in _get(eva, "/routines").text
        readers = _get(vera, "/routines/readers")
        assert readers.status_code == 200
        assert 'data-reader="eva" data-current="yes"' in readers.text
        assert 'data-reader="ola" data-current="no"' in readers.text
        assert _get(eva, "/routines/readers").status_code == 403
        mode = {"site": SITE, "room": "Møterom 101", "minutes": "30"}
        assert done_of(_post(lea, "/drills/mode", mode)) == "mode_started"
        [mode_id] = attr(_get(lea, "/drills").text, "data-mode")
    finally:
        central.stop()

    # The office changes a routine: everyone is asked again, and the safety rep sees it.
    plan.write_text(plan.read_text().replace("per_year = 2", "per_year = 3"))
    central.start()
    try:  # the sessions outlive the restart (kept in the database)
        page = _get(eva, "/routines")
        assert 'data-read="no"' in page.text
        assert attr(page.text, "data-version") != [version]
        listed = _get(vera, "/routines/readers").text
        assert 'data-reader="eva" data-current="no"' in listed
        assert "0 av 4 har lest gjeldende versjon." in listed
        assert attr(_get(lea, "/drills").text, "data-mode") == [mode_id]
    finally:
        central.stop()
