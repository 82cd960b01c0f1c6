"""The console's drills (STANDARD 4.1, 4.2), training register and routines read (1.1, 3.6).

* ``/drills``: each site's plan as it stands (held within the year against planned, overdue
  sites and scenarios), the rooms in drill mode now, a leader's two ways to start a drill (a
  room in drill mode for some minutes, so that a real press there is a drill; or a drill raised
  from the console for a room), and the drill log: per drill its four times — press, first
  shown on a colleague's screen, first "I'm coming", resolved — who answered, and the leader's
  evaluation note. ``/drills/log.csv`` is the same log for a spreadsheet.
* ``/training``: who took part in which drill (recorded by itself: who raised it, who was in
  the room, who answered) or training (added by a leader by hand), and who has none yet.
* ``/routines/read`` confirms that the person has read the routines page as it is now (its
  version: central.core.routines_read); ``/routines/readers`` shows the safety representative
  (and the leader) who has read the current version at their sites.

Forms post with the session's CSRF token like every console form; refusals come back as a
reason the page says in words, and change nothing.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated
from uuid import UUID, uuid4

from fastapi import APIRouter, Form, Request
from starlette.responses import Response

from central.api.deps import CentralDep, PersonDep
from central.auth.routes import needs
from central.auth.rules import Action, allowed
from central.core import Person
from central.core.drills import (
    DrillTimes,
    Participation,
    Someone,
    drill_times,
    start_warnings,
    took_part,
    untrained,
)
from central.core.routines_read import ReadStatus, read_status
from central.service import Central
from central.store import drills as stored
from central.store.drills import DrillInfo, DrillRow, Training
from central.web.deps import PagesDep, back_to
from central.web.export import csv_cell
from protocol import AlarmLevel

router = APIRouter(include_in_schema=False)
log = logging.getLogger("central.drills")

MAX_NOTE = 1000
MAX_TITLE = 200


@dataclass(frozen=True, slots=True)
class LoggedDrill:
    """One line of the drill log."""

    row: DrillRow
    times: DrillTimes | None  # None: its alarm is not stored yet
    took_part: tuple[Someone, ...]
    scenario_title: dict[str, str]

    @property
    def alarm_id(self) -> str:
        return self.row.alarm_id


def _logged(central: Central, rows: Iterable[DrillRow]) -> list[LoggedDrill]:
    found = []
    for row in rows:
        times = drill_times(row.alarm, row.steps) if row.alarm is not None else None
        raiser: Someone | None = None
        if row.alarm is not None and row.alarm.raised_by:
            raiser = (row.alarm.raised_by, row.alarm.raised_by_name or row.alarm.raised_by)
        people = took_part(raiser, row.in_room, times.answered if times else ())
        plan = central.drilling.plans.get(row.site)
        scenario = plan.scenario(row.scenario) if plan and row.scenario else None
        found.append(LoggedDrill(row, times, people, scenario.title if scenario else {}))
    return found


def _sites(person: Person) -> frozenset[str] | None:
    return None if person.everywhere else person.sites


async def participations(central: Central, sites: frozenset[str] | None) -> list[Participation]:
    """Every drill and training of ``sites`` (None: all) and who took part, newest first."""
    drills = _logged(central, await central.read(lambda db: stored.drills(db, sites, 5000)))
    trainings = await central.read(lambda db: stored.trainings(db, sites))
    found: list[Participation] = []
    for drill in drills:
        at = drill.row.alarm.raised_at if drill.row.alarm else None
        if at is None:
            continue
        day = at.astimezone(central.settings.zone(drill.row.site)).date()
        title = drill.scenario_title.get("nb") or drill.row.room
        for user, name in drill.took_part:
            found.append(
                Participation(user, name, day, "drill", title, drill.row.site, drill.alarm_id)
            )
    for training in trainings:
        for user, name in training.people:
            found.append(
                Participation(
                    user,
                    name,
                    training.held_on,
                    "training",
                    training.title,
                    training.site,
                    training.training_id,
                )
            )
    return sorted(found, key=lambda p: (p.on, p.kind, p.ref), reverse=True)


async def has_training(central: Central, user: str) -> bool:
    """Whether ``user`` has taken part in any drill or training, at any site (4.1)."""
    return any(p.user == user for p in await participations(central, None))


# --- drills -----------------------------------------------------------------------------------


#: What the page may warn of after a room went into drill mode (central.core.drills).
WARNINGS = ("device_offline", "real_alarm_open")


@router.get("/drills", dependencies=[needs(Action.READ_DRILLS)])
async def drills_page(
    request: Request,
    central: CentralDep,
    person: PersonDep,
    pages: PagesDep,
    done: str = "",
    warn: str = "",
) -> Response:
    now = central.clock()
    sites = central.sites_of(person)
    drilling = central.drilling
    logged = _logged(central, await central.read(lambda db: stored.drills(db, _sites(person))))
    people = await drilling.people(person.covers)
    return pages.render(
        request,
        "drills.html",
        done=done,
        warnings=[w for w in WARNINGS if w in warn.split(",")],
        sites=sites,
        site_names={s.id: s.name for s in central.settings.sites},
        plans=drilling.plans,
        standings=await drilling.standings(person.covers, now),
        overdue=await drilling.overdue(person.covers, now),
        modes=[m for m in drilling.modes.active(now) if person.covers(m.site)],
        rooms={s.id: drilling.rooms(s.id) for s in sites},
        people={s.id: [p for p in people if p.covers(s.id)] for s in sites},
        drills=logged,
        may_run=allowed(person, Action.RUN_DRILLS),
        now=now,
    )


@router.post("/drills/mode", dependencies=[needs(Action.RUN_DRILLS)])
async def start_mode(
    central: CentralDep,
    person: PersonDep,
    site: Annotated[str, Form(max_length=63)],
    room: Annotated[str, Form(max_length=120)],
    minutes: Annotated[float, Form(ge=1, le=120)],
    scenario: Annotated[str, Form(max_length=63)] = "",
    in_room: Annotated[list[str] | None, Form()] = None,
) -> Response:
    """A room in drill mode for ``minutes``: a real press there is a drill meanwhile."""
    found = central.drilling.room(site, room)
    if found is None or not person.covers(site):
        return back_to("/drills", done="unknown_room")
    names = {p.user_id: p.name for p in await central.drilling.people(lambda s: s == site)}
    chosen = [(u, names[u]) for u in (in_room or []) if u in names]
    mode = await central.drilling.start_mode(person, found, minutes, scenario, chosen)
    if isinstance(mode, str):
        return back_to("/drills", done=mode)
    # Started all the same, with a word on what may make a press there no drill.
    supervisor = central.watch.supervisor
    online = {
        d: record.online
        for d in found.devices
        if (record := supervisor.device(site, d)) is not None
    }
    warnings = start_warnings(site, found.name, found.devices, online, central.book.active())
    for warning in warnings:
        log.warning("drill mode in %s at %s started with a warning: %s", found.name, site, warning)
    if not warnings:
        return back_to("/drills", done="mode_started")
    return back_to("/drills", done="mode_started", warn=",".join(warnings))


@router.post("/drills/mode/{mode_id}/end", dependencies=[needs(Action.RUN_DRILLS)])
async def end_mode(mode_id: UUID, central: CentralDep, person: PersonDep) -> Response:
    refused = await central.drilling.end_mode(person, mode_id)
    return back_to("/drills", done=refused or "mode_ended")


@router.post("/drills/raise", dependencies=[needs(Action.RUN_DRILLS)])
async def raise_drill(
    central: CentralDep,
    person: PersonDep,
    site: Annotated[str, Form(max_length=63)],
    room: Annotated[str, Form(max_length=120)],
    scenario: Annotated[str, Form(max_length=63)] = "",
    level: Annotated[str, Form(max_length=10)] = "",
    in_room: Annotated[list[str] | None, Form()] = None,
) -> Response:
    """A drill raised from the console for ``room``: through the whole chain but the ARC."""
    found = central.drilling.room(site, room)
    if found is None or not person.covers(site):
        return back_to("/drills", done="unknown_room")
    plan = central.drilling.plans.get(site)
    chosen_scenario = plan.scenario(scenario) if plan and scenario else None
    if scenario and chosen_scenario is None:
        return back_to("/drills", done="unknown_scenario")
    if chosen_scenario is not None:
        alarm_level = chosen_scenario.level
    elif level in set(AlarmLevel):
        alarm_level = AlarmLevel(level)
    else:
        return back_to("/drills", done="bad_input")
    names = {p.user_id: p.name for p in await central.drilling.people(lambda s: s == site)}
    info = DrillInfo(
        kind="console",
        scenario=scenario,
        started_by=(person.user_id, person.name),
        in_room=tuple((u, names[u]) for u in (in_room or []) if u in names),
    )
    floor = next(
        (d.floor for d in central.settings.devices if d.site == site and d.room == found.name),
        None,
    )
    alarm_id, refused = central.raise_drill(person, site, found.name, floor, alarm_level, info)
    if refused is not None:
        return back_to("/drills", done=refused)
    central.record(person.user_id, "drill_raised", str(alarm_id), f"{site} {found.name}")
    return back_to("/drills", done="drill_raised")


@router.post("/drills/{alarm_id}/evaluation", dependencies=[needs(Action.RUN_DRILLS)])
async def evaluate(
    alarm_id: UUID,
    central: CentralDep,
    person: PersonDep,
    note: Annotated[str, Form(min_length=1, max_length=MAX_NOTE)],
) -> Response:
    """The leader's short evaluation of a drill: what went well, what to change."""
    refused = await central.drilling.evaluate(person, alarm_id, note.strip())
    return back_to("/drills", done=refused or "evaluated")


CSV_HEAD = (
    "alarm_id",
    "site",
    "room",
    "kind",
    "scenario",
    "level",
    "pressed",
    "first_shown",
    "first_coming",
    "resolved",
    "seconds_to_shown",
    "seconds_to_coming",
    "seconds_to_resolved",
    "answered",
    "took_part",
    "evaluation",
)


@router.get("/drills/log.csv", dependencies=[needs(Action.READ_DRILLS)])
async def drills_csv(central: CentralDep, person: PersonDep) -> Response:
    """The drill log for a spreadsheet (UTF-8 with BOM; no cell starts a formula)."""
    logged = _logged(central, await central.read(lambda db: stored.drills(db, _sites(person))))
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(CSV_HEAD)

    def at(value: datetime | None) -> str:
        return value.isoformat() if value else ""

    for drill in logged:
        times, alarm = drill.times, drill.row.alarm
        cells: tuple[object, ...] = (
            drill.alarm_id,
            drill.row.site,
            drill.row.room,
            drill.row.kind,
            drill.row.scenario,
            alarm.level.value if alarm else "",
            at(times.pressed if times else None),
            at(times.shown if times else None),
            at(times.coming if times else None),
            at(times.resolved if times else None),
            "" if times is None or times.to_shown is None else times.to_shown,
            "" if times is None or times.to_coming is None else times.to_coming,
            "" if times is None or times.to_resolved is None else times.to_resolved,
            "; ".join(n for _, n in times.answered) if times else "",
            "; ".join(n for _, n in drill.took_part),
            drill.row.evaluation,
        )
        writer.writerow([csv_cell(cell) for cell in cells])
    return Response(
        content="\ufeff" + out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="trygg-drill-log.csv"'},
    )


# --- the training register --------------------------------------------------------------------


@router.get("/training", dependencies=[needs(Action.READ_DRILLS)])
async def training_page(
    request: Request, central: CentralDep, person: PersonDep, pages: PagesDep, done: str = ""
) -> Response:
    sites = central.sites_of(person)
    found = await participations(central, _sites(person))
    everyone = await central.drilling.people(person.covers)
    # Trained anywhere counts: someone who moved from another office brings their drills.
    anywhere = await participations(central, None)
    people = [(p.user_id, p.name) for p in everyone]
    return pages.render(
        request,
        "training.html",
        done=done,
        sites=sites,
        site_names={s.id: s.name for s in central.settings.sites},
        participations=found,
        untrained=untrained(people, anywhere),
        people={s.id: [p for p in everyone if p.covers(s.id)] for s in sites},
        may_run=allowed(person, Action.RUN_DRILLS),
        today=central.clock().date(),
    )


@router.post("/training", dependencies=[needs(Action.RUN_DRILLS)])
async def add_training(
    central: CentralDep,
    person: PersonDep,
    site: Annotated[str, Form(max_length=63)],
    held_on: Annotated[str, Form(max_length=10)],
    title: Annotated[str, Form(min_length=1, max_length=MAX_TITLE)],
    people: Annotated[list[str] | None, Form()] = None,
) -> Response:
    """A training held on ``held_on`` (YYYY-MM-DD) at ``site``, and who took part."""
    if not person.covers(site) or central.settings.site(site) is None:
        return back_to("/training", done="not_your_site")
    try:
        day = date.fromisoformat(held_on)
    except ValueError:
        return back_to("/training", done="bad_input")
    now = central.clock()
    if day > now.date():
        return back_to("/training", done="bad_input")  # a training is recorded once held
    names = {p.user_id: p.name for p in await central.drilling.people(lambda s: s == site)}
    chosen = tuple((u, names[u]) for u in dict.fromkeys(people or []) if u in names)
    if not chosen or not title.strip():
        return back_to("/training", done="bad_input")
    training = Training(str(uuid4()), site, day, title.strip(), person.user_id, now, chosen)
    await central.write(stored.training_added(training))
    central.record(person.user_id, "training_added", training.training_id, f"{site} {day}")
    return back_to("/training", done="training_added")


# --- routines read ----------------------------------------------------------------------------


@router.post("/routines/read", dependencies=[needs(Action.READ_ROUTINES)])
async def confirm_read(
    central: CentralDep, person: PersonDep, version: Annotated[str, Form(max_length=64)]
) -> Response:
    """``person`` has read the routines page of ``version`` (the one they were shown)."""
    refused = await central.drilling.confirm_read(person, version)
    return back_to("/routines", done=refused or "read")


async def reading(central: Central, person: Person) -> tuple[str, datetime | None]:
    """The version of the routines ``person`` is shown, and when they confirmed it (None:
    not yet; the page asks)."""
    version = central.drilling.version(person)
    reads = await central.read(stored.reads)
    return version, reads.get(person.user_id, {}).get(version)


@router.get("/routines/readers", dependencies=[needs(Action.READ_ROUTINE_READS)])
async def readers_page(
    request: Request, central: CentralDep, person: PersonDep, pages: PagesDep
) -> Response:
    """Who has read the current routines at the viewer's sites, and who has not (1.1)."""
    statuses = await read_statuses(central, person.covers)
    return pages.render(
        request,
        "routine_readers.html",
        statuses=statuses,
        read=sum(1 for s in statuses if s.current),
    )


async def read_statuses(central: Central, covers: Callable[[str], bool]) -> list[ReadStatus]:
    people = await central.drilling.people(covers)
    reads = await central.read(stored.reads)
    shown = [(p.user_id, p.name, central.drilling.version(p)) for p in people]
    return read_status(shown, reads)
