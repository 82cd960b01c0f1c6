"""The console's incident-report pages (STANDARD 2.4): the form, one's own reports and the
reports one is asked to file, a report with its seen marks, follow-up and read log, and the
retention job's runs.

The form is plain bokmål first (English through the catalogue) and short: what happened, where,
when, injuries, police, follow-up needed, and free text under a visible warning not to name the
client unless it is needed. A desk's or phone's "write a report" prompt opens
``/reports/new?alarm=<id>``, which is filled in from the alarm (site, room, time, where). Every
opening of a report goes through ``central.reports`` (the read log); forms post with the
session's CSRF token like every console form. The work is the API's (``central.api.reports``)
and the core's (``central.core.reports``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, HTTPException, Request
from pydantic import ValidationError
from starlette.responses import Response

from central.api.deps import CentralDep, PersonDep
from central.api.reports import ReportIn, file_report, run_json
from central.auth.routes import needs
from central.auth.rules import Action, allowed
from central.core import Person
from central.core.reports import (
    MAX_FOLLOW_UP,
    MAX_ROOM,
    MAX_TEXT,
    Injuries,
    Kind,
    Place,
    Seat,
    may_read_log,
    seats,
)
from central.service import Central
from central.store import reports as rows
from central.web.deps import PagesDep, back_to
from protocol import AlarmSource

router = APIRouter(include_in_schema=False)


def _local(at: datetime, zone: ZoneInfo) -> str:
    """For a ``datetime-local`` field."""
    return at.astimezone(zone).strftime("%Y-%m-%dT%H:%M")


def _place_of(source: AlarmSource | None) -> str:
    """Where an alarm's report most likely happened: a phone's alarm outside the office, a
    desk's silent alarm on the phone or in a video meeting (3.4), any other in the office."""
    if source is AlarmSource.MOBILE:
        return Place.OUTSIDE.value
    if source is AlarmSource.DESKTOP:
        return Place.PHONE_VIDEO.value
    return Place.OFFICE.value


def _prefill(central: Central, person: Person, alarm: UUID | None) -> dict[str, Any]:
    """The form's values: from the alarm asked about (or known), else the person's first site
    and now."""
    sites = central.sites_of(person)
    site = sites[0].id if sites else ""
    values: dict[str, Any] = {
        "site": site,
        "kinds": [],
        "place": Place.OFFICE.value,
        "room": "",
        "occurred_at": _local(central.clock(), central.settings.zone(site)) if site else "",
        "injuries": Injuries.NONE.value,
        "police": False,
        "follow_up_needed": False,
        "text": "",
        "alarm_id": "",
    }
    if alarm is None:
        return values
    asked = central.reports.ask(person, alarm)
    view = central.alarm(alarm)
    theirs = view is not None and (view.raised_by == person.user_id or person.covers(view.site))
    if asked is None and not theirs:
        return values  # not an alarm of theirs to name: an empty form
    site = asked.ask.site if asked else view.site if view else site
    raised = asked.raised_at if asked else view.raised_at if view else central.clock()
    values.update(
        site=site,
        room=asked.room if asked else view.room if view else "",
        occurred_at=_local(raised, central.settings.zone(site)),
        place=_place_of(view.source if view else None),
        alarm_id=str(alarm),
    )
    return values


def _form(
    request: Request,
    central: Central,
    person: Person,
    pages: PagesDep,
    values: dict[str, Any],
    status_code: int = 200,
    problem: str = "",
) -> Response:
    sites = central.sites_of(person)
    return pages.render(
        request,
        "report_form.html",
        status_code,
        sites=sites,
        rooms={s.id: sorted(central.standby.rooms(s.id)) for s in sites},
        values=values,
        kinds=[k.value for k in Kind],
        places=[p.value for p in Place],
        injuries=[i.value for i in Injuries],
        max_text=MAX_TEXT,
        max_room=MAX_ROOM,
        problem=problem,
        asked=_asked(central, person, str(values.get("alarm_id") or "")),
    )


def _asked(central: Central, person: Person, alarm_id: str) -> rows.StoredAsk | None:
    """The ask the form answers, if its (hidden) alarm field names one of this person's."""
    try:
        return central.reports.ask(person, UUID(alarm_id)) if alarm_id else None
    except ValueError:
        return None


@router.get("/reports", dependencies=[needs(Action.FILE_REPORT)])
async def page(
    request: Request, central: CentralDep, person: PersonDep, pages: PagesDep, done: str = ""
) -> Response:
    """My reports, the reports I am asked to file, and my sites' reports (if I read them)."""
    site_reports = []
    if allowed(person, Action.READ_REPORTS):
        site_reports = await central.reports.of_sites(person)
    return pages.render(
        request,
        "reports.html",
        done=done,
        mine=await central.reports.mine(person),
        asked=central.reports.asked_of(person),
        site_reports=site_reports,
        reads_sites=allowed(person, Action.READ_REPORTS),
        site_names=central.site_names,
        sites=central.sites_of(person),
    )


@router.get("/reports/new", dependencies=[needs(Action.FILE_REPORT)])
async def new(
    request: Request,
    central: CentralDep,
    person: PersonDep,
    pages: PagesDep,
    alarm: UUID | None = None,
) -> Response:
    return _form(request, central, person, pages, _prefill(central, person, alarm))


@router.post("/reports/new", dependencies=[needs(Action.FILE_REPORT)])
async def file_form(
    request: Request,
    central: CentralDep,
    person: PersonDep,
    pages: PagesDep,
    site: Annotated[str, Form(max_length=63)],
    place: Annotated[str, Form(max_length=20)],
    occurred_at: Annotated[str, Form(max_length=20)],
    injuries: Annotated[str, Form(max_length=10)] = Injuries.NONE.value,
    kinds: Annotated[list[str] | None, Form()] = None,
    room: Annotated[str, Form(max_length=MAX_ROOM)] = "",
    police: Annotated[str, Form(max_length=5)] = "",
    follow_up_needed: Annotated[str, Form(max_length=5)] = "",
    text: Annotated[str, Form(max_length=MAX_TEXT + 200)] = "",
    alarm_id: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """The form: the time is the site's local time (``datetime-local``). A refusal shows the
    form again with what was written and why (nothing is kept)."""
    values: dict[str, Any] = {
        "site": site,
        "kinds": [k for k in kinds or [] if k],
        "place": place,
        "room": room,
        "occurred_at": occurred_at,
        "injuries": injuries,
        "police": police == "yes",
        "follow_up_needed": follow_up_needed == "yes",
        "text": text,
        "alarm_id": alarm_id,
    }
    plan = central.settings.site(site)
    if plan is None or not person.covers(site):
        return _form(request, central, person, pages, values, 403, "not_your_site")
    try:
        when = datetime.fromisoformat(occurred_at).replace(tzinfo=ZoneInfo(plan.zone))
        body = ReportIn(
            site=site,
            alarm_id=UUID(alarm_id) if alarm_id else None,
            kinds=values["kinds"],
            place=place,
            room=room,
            occurred_at=when,
            injuries=injuries,
            police=values["police"],
            follow_up_needed=values["follow_up_needed"],
            text=text,
        )
    except ValidationError as exc:
        return _form(request, central, person, pages, values, 400, _first_problem(exc))
    except ValueError:
        return _form(request, central, person, pages, values, 400, "bad_time")
    try:
        found = await file_report(central, person, body)
    except HTTPException as refused:
        return _form(request, central, person, pages, values, refused.status_code, refused.detail)
    return back_to(f"/reports/{found.report_id}", done="filed")


def _first_problem(exc: ValidationError) -> str:
    error = exc.errors(include_url=False)[0]
    where = str(error["loc"][0]) if error["loc"] else ""
    if where == "kinds":
        return "no_kind"
    if where == "text":
        return "text_too_long"
    return f"bad_{where}" if where else "bad_input"


@router.get("/reports/retention", dependencies=[needs(Action.READ_REPORT_LOG)])
async def retention(
    request: Request, central: CentralDep, person: PersonDep, pages: PagesDep
) -> Response:
    """The retention job's runs: when, by whom (the schedule, the CLI), how many anonymised —
    of the sites whose read log the reader reads."""
    found = await central.reports.retention_runs(person)
    settings = central.settings
    mine = [s.id for s in settings.sites if may_read_log(person, s.id)]
    return pages.render(
        request,
        "report_retention.html",
        runs=[run_json(r) for r in found],
        days={site: settings.report_retention_days(site) for site in mine},
        site_names=central.site_names,
    )


@router.post("/reports/asked/{alarm_id}/not-needed", dependencies=[needs(Action.FILE_REPORT)])
async def not_needed(alarm_id: UUID, central: CentralDep, person: PersonDep) -> Response:
    done = await central.reports.not_needed(person, alarm_id)
    return back_to("/reports", done="not_needed" if done else "not_asked")


@router.get("/reports/{report_id}", dependencies=[needs(Action.FILE_REPORT)])
async def one(
    request: Request,
    report_id: UUID,
    central: CentralDep,
    person: PersonDep,
    pages: PagesDep,
    done: str = "",
) -> Response:
    """The report, for its filer and its site's leader, safety representative and admin: the
    opening is written to the read log. Anyone else gets "not found"."""
    found = await central.reports.read(person, report_id)
    if found is None:
        raise HTTPException(404, "no such report")
    log = None
    if may_read_log(person, found.site):
        log = await central.reports.reads(person, report_id)
    held = seats(person, found.site)
    marked = {s.seat for s in found.seen if s.user == person.user_id}
    return pages.render(
        request,
        "report.html",
        report=found,
        done=done,
        site_name=central.site_names.get(found.site, found.site),
        may_mark=bool(held - marked) and allowed(person, Action.MARK_REPORT_SEEN),
        may_follow_up=Seat.LEADER in held and allowed(person, Action.FOLLOW_UP_REPORT),
        max_follow_up=MAX_FOLLOW_UP,
        reads=log,
        mail=await central.reports.mail_of(report_id) if held or log is not None else [],
        seen_leader=found.seen_by(Seat.LEADER),
        seen_safety_rep=found.seen_by(Seat.SAFETY_REP),
    )


@router.post("/reports/{report_id}/seen", dependencies=[needs(Action.MARK_REPORT_SEEN)])
async def seen(report_id: UUID, central: CentralDep, person: PersonDep) -> Response:
    found = await central.reports.seen(person, report_id)
    if isinstance(found, str) and found == "unknown_report":
        raise HTTPException(404, "no such report")
    return back_to(f"/reports/{report_id}", done=found if isinstance(found, str) else "seen")


@router.post("/reports/{report_id}/follow-up", dependencies=[needs(Action.FOLLOW_UP_REPORT)])
async def follow_up(
    report_id: UUID,
    central: CentralDep,
    person: PersonDep,
    text: Annotated[str, Form(max_length=MAX_FOLLOW_UP + 200)] = "",
) -> Response:
    found = await central.reports.follow_up(person, report_id, text)
    if isinstance(found, str) and found == "unknown_report":
        raise HTTPException(404, "no such report")
    done = found if isinstance(found, str) else "followed_up"
    return back_to(f"/reports/{report_id}", done=done)
