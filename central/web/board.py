"""The live alarm board, answering from the console, and the alarm history.

The board page is rendered whole; after that a websocket (``/board/feed``) says "site X
changed" and the page fetches the fresh board fragment (``/board/live``): the server renders
everything, the browser needs a dozen lines of script and no build chain.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, HTTPException, Query, Request, WebSocket, status
from starlette.responses import Response

from central.api.deps import CentralDep, PersonDep
from central.auth.routes import needs
from central.auth.rules import Action
from central.core import Person
from central.core.alarms import reaches
from central.service import Central
from central.web import queries
from central.web.deps import PagesDep, back_to
from central.web.plan import plan_of
from central.web.render import OSLO
from protocol.screen import AlarmState, AlarmView, CommandKind

log = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)


async def _board(central: Central, person: Person) -> dict[str, Any]:
    # A flooding source's alarms are one card ("Flood from rom-101: N alarms", its room, the
    # highest level), not N; "resolve" on it resolves them all. The history lists each.
    active = central.board(person)
    active.sort(key=lambda a: (a.level != "acute", a.raised_at))
    ids = [str(a.alarm_id) for a in active]
    timelines = await central.read(lambda db: queries.timelines(db, ids))
    sites = central.sites_of(person)
    return {
        # While a test round is open, a button's first press reaches only the tester: say so.
        "test_rounds": central.open_rounds(person),
        "plans": [plan_of(s, active) for s in sites],
        "alarms": active,
        "site_names": {s.id: s.name for s in sites},
        # [registry] open = true (trials only): every device the broker admits is trusted.
        "open_registry": central.open_registry,
        # Evacuate / lock down: a banner while on, the controls, and who did what when.
        "announcements": central.announcing.active(person),
        "announcement_history": central.announcing.history(person, 10),
        "timelines": timelines,
        # Meetings with standby on now (central.core.standby): "Standby: Kari, Ola" per room.
        "standby_now": [
            m for s in sites for m in central.standby.book.on_now(s.id, central.clock())
        ],
        "rooms": {
            a.alarm_id: (
                s.room_of(a.device, a.room) if (s := central.settings.site(a.site)) else None
            )
            for a in active
        },
        # A drill is shown, marked DRILL, and never counted as an alarm (docs/drills.md).
        "real_count": sum(1 for a in active if not a.drill),
        "drill_count": sum(1 for a in active if a.drill),
        "drill_modes": [
            m for m in central.drilling.modes.active(central.clock()) if person.covers(m.site)
        ],
    }


@router.get("/board", dependencies=[needs(Action.VIEW_BOARD)])
async def board(
    request: Request, central: CentralDep, person: PersonDep, pages: PagesDep, done: str = ""
) -> Response:
    return pages.render(request, "board.html", done=done, **await _board(central, person))


@router.get("/board/live", dependencies=[needs(Action.VIEW_BOARD)])
async def board_live(
    request: Request, central: CentralDep, person: PersonDep, pages: PagesDep
) -> Response:
    return pages.render(request, "board_live.html", **await _board(central, person))


@router.websocket("/board/feed", dependencies=[needs(Action.VIEW_BOARD)])
async def board_feed(websocket: WebSocket, central: CentralDep, person: PersonDep) -> None:
    """Says which site changed; nothing else (the page fetches what it may see). An alarm's
    change is said to everyone it reaches: a neighbour site's responder or a guard it escalated
    to sees it come, change and go on their board too."""
    changed: asyncio.Queue[str] = asyncio.Queue(maxsize=100)

    def listener(site: str, alarm: AlarmView | None) -> None:
        mine = reaches(person, alarm) if alarm is not None else person.covers(site)
        if mine and not changed.full():
            changed.put_nowait(site)

    await websocket.accept()
    unlisten = central.listen(listener)
    reader = asyncio.create_task(_until_closed(websocket))
    try:
        while not reader.done():
            getter = asyncio.create_task(changed.get())
            done, _ = await asyncio.wait({getter, reader}, return_when=asyncio.FIRST_COMPLETED)
            if getter not in done:
                getter.cancel()
                break
            await websocket.send_text(getter.result())
    except Exception as exc:  # the browser went away mid-send
        log.debug("board socket closed mid-send: %r", exc)
    finally:
        unlisten()
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await reader


async def _until_closed(websocket: WebSocket) -> None:
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return


async def _answer(central: Central, person: Person, alarm_id: UUID, kind: CommandKind) -> Response:
    found = central.alarm(alarm_id)
    # A neighbour site's responder or a guard the alarm escalated to may answer it here too.
    if found is None or not reaches(person, found) or found.test:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such active alarm")
    refused = central.answer(person, kind, alarm_id)
    return back_to("/board", done="refused" if refused else str(kind))


@router.post("/alarms/{alarm_id}/coming", dependencies=[needs(Action.ANSWER_ALARMS)])
async def coming(alarm_id: UUID, central: CentralDep, person: PersonDep) -> Response:
    return await _answer(central, person, alarm_id, CommandKind.COMING)


@router.post("/alarms/{alarm_id}/resolve", dependencies=[needs(Action.ANSWER_ALARMS)])
async def resolve(alarm_id: UUID, central: CentralDep, person: PersonDep) -> Response:
    return await _answer(central, person, alarm_id, CommandKind.RESOLVE)


# --- history -------------------------------------------------------------------------------


@router.get("/alarms", dependencies=[needs(Action.READ_ALARMS)])
async def history(
    request: Request,
    central: CentralDep,
    person: PersonDep,
    pages: PagesDep,
    site: Annotated[str, Query(max_length=63)] = "",
    level: Annotated[str, Query(max_length=10)] = "",
    state: Annotated[str, Query(max_length=20)] = "",
    since: Annotated[str, Query(alias="from", max_length=10)] = "",
    until: Annotated[str, Query(alias="to", max_length=10)] = "",
    tests: bool = False,
    kind: Annotated[str, Query(max_length=10)] = "",
    # Where it was raised from (button, sensor, desktop, mobile), and escalated ones only: the
    # evidence page's figures (central.web.evidence_words) link here to the alarms they count.
    source: Annotated[str, Query(max_length=10)] = "",
    escalated: Annotated[str, Query(max_length=3)] = "",
) -> Response:
    if site and not person.covers(site):
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"not your site: {site}")
    sites = frozenset({site}) if site else (None if person.everywhere else person.sites)
    found = await central.recent(1000, sites, tests)
    found = [
        a
        for a in found
        if (not level or a["level"] == level)
        and (not state or a["state"] == state)
        and (not since or _day(a["raised_at"]) >= since)
        and (not until or _day(a["raised_at"]) <= until)
        # Real alarms only, drills only, or both (a drill is marked, never counted as real).
        and (kind != "real" or not (a["drill"] or a["test"]))
        and (kind != "drill" or a["drill"])
        and _more(a, source, escalated == "yes")
    ]
    return pages.render(
        request,
        "history.html",
        alarms=found[:200],
        more=len(found) > 200,
        sites=central.sites_of(person),
        chosen={
            "site": site,
            "level": level,
            "state": state,
            "from": since,
            "to": until,
            "kind": kind,
            "source": source,
            "escalated": escalated,
        },
        real_count=sum(1 for a in found if not a["drill"] and not a["test"]),
        drill_count=sum(1 for a in found if a["drill"]),
        tests=tests,
        states=list(AlarmState),
        announcements=central.announcing.active(person),
        site_names={s.id: s.name for s in central.sites_of(person)},
        announcement_history=[
            a for a in central.announcing.history(person, 200) if not site or a.site == site
        ],
    )


def _day(at: str) -> str:
    """The day an alarm was raised, in Norwegian time as the page shows it (the record: UTC)."""
    return datetime.fromisoformat(at).astimezone(OSLO).date().isoformat()


def _more(alarm: dict[str, Any], source: str, escalated: bool) -> bool:
    return (not source or alarm["source"] == source) and (not escalated or alarm["stage"] > 0)


@router.get("/alarms/{alarm_id}", dependencies=[needs(Action.READ_ALARMS)])
async def alarm_page(
    alarm_id: UUID, request: Request, central: CentralDep, person: PersonDep, pages: PagesDep
) -> Response:
    found = await central.read(lambda db: queries.alarm(db, str(alarm_id)))
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such alarm")
    view = AlarmView.model_validate({k: v for k, v in found.items() if k != "events"})
    if not reaches(person, view):  # its site's people, and those it escalated to
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such alarm")
    return pages.render(request, "alarm.html", alarm=view, events=found["events"])
