"""Incident reports over HTTP (STANDARD 2.4; central.core.reports decides, central.reports does).

File a report (every employee, for a site of theirs, optionally naming the alarm it follows);
list one's own and the asks one owes; open a report (its filer, or the site's leader, safety
representative or admin: opening it is written to the read log); mark it seen (leader, safety
representative); record the follow-up (leader); read the read log and the retention runs
(safety representative, admin); export the site's reports as CSV or JSON for the employer's
own reporting system (leader, safety representative, admin; every exported report gets a line
in its read log). Each route declares its action (central.auth.rules), deny by default; a
report someone may not read is answered 404, exactly like one that does not exist. Lists carry
no free text: the text is read only where the reading is logged.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any
from uuid import UUID, uuid4

from fastapi import APIRouter, Depends, HTTPException, Query, status
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from starlette.responses import Response

from central.api.deps import CentralDep, PersonDep
from central.auth.routes import needs
from central.auth.rules import Action, allowed
from central.core import Person
from central.core.reports import (
    MAX_FOLLOW_UP,
    MAX_ROOM,
    MAX_TEXT,
    Draft,
    Injuries,
    Kind,
    Place,
    Report,
    Seat,
)
from central.service import Central
from central.store import reports as rows
from central.store.report_retention import RetentionRun
from central.web.export import csv_cell

router = APIRouter(prefix="/api/reports", tags=["reports"])
exports = APIRouter(tags=["reports"])

_STATUS = {
    "not_your_site": status.HTTP_403_FORBIDDEN,
    "unknown_alarm": status.HTTP_404_NOT_FOUND,
    "unknown_report": status.HTTP_404_NOT_FOUND,
    "not_leader_or_safety_rep": status.HTTP_403_FORBIDDEN,
    "not_leader": status.HTTP_403_FORBIDDEN,
}
EXPORT_LIMIT = 10_000
_INVALID = 422  # Starlette renamed its constant; the number is the contract


class ReportIn(BaseModel):
    """A report to file. ``site``: one of the person's (their first when left out);
    ``alarm_id``: the alarm it follows, if any (one they were asked about, raised, or whose
    site they cover)."""

    model_config = ConfigDict(extra="forbid")

    report_id: UUID | None = None
    site: str | None = Field(default=None, max_length=63)
    alarm_id: UUID | None = None
    kinds: list[Kind] = Field(min_length=1, max_length=len(Kind))
    place: Place
    room: str = Field(default="", max_length=MAX_ROOM)
    occurred_at: AwareDatetime
    injuries: Injuries = Injuries.NONE
    police: bool = False
    follow_up_needed: bool = False
    text: str = Field(default="", max_length=MAX_TEXT)


class FollowUpIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=MAX_FOLLOW_UP)


def _seen_json(report: Report, seat: Seat) -> list[dict[str, str]]:
    return [{"user": s.user, "name": s.name, "at": s.at.isoformat()} for s in report.seen_by(seat)]


def report_json(report: Report, *, full: bool) -> dict[str, Any]:
    """A report as the API gives it; without ``full`` no free text (lists, whose reading is
    not logged): what it was, where, when, and whether it is seen and followed up."""
    follow = report.follow_up
    found: dict[str, Any] = {
        "report_id": str(report.report_id),
        "site": report.site,
        "filed_by": report.filed_by or None,
        "filed_by_name": report.filed_by_name or None,
        "filed_at": report.filed_at.isoformat(),
        "alarm_id": str(report.alarm_id) if report.alarm_id else None,
        "from_alarm": report.from_alarm,
        "kinds": [k.value for k in report.kinds],
        "place": report.place.value,
        "room": report.room,
        "occurred_at": report.occurred_at.isoformat(),
        "injuries": report.injuries.value,
        "police": report.police,
        "follow_up_needed": report.follow_up_needed,
        "seen_by_leader": _seen_json(report, Seat.LEADER),
        "seen_by_safety_rep": _seen_json(report, Seat.SAFETY_REP),
        "followed_up_at": follow.at.isoformat() if follow else None,
        "anonymised_at": report.anonymised_at.isoformat() if report.anonymised_at else None,
    }
    if full:
        found["text"] = report.text
        found["follow_up"] = (
            {"text": follow.text, "by": follow.by, "by_name": follow.by_name} if follow else None
        )
    return found


def ask_json(found: rows.StoredAsk) -> dict[str, Any]:
    ask = found.ask
    return {
        "alarm_id": str(ask.alarm_id),
        "site": ask.site,
        "why": ask.why.value,
        "room": found.room,
        "level": found.level,
        "raised_at": found.raised_at.isoformat(),
        "resolved_at": found.resolved_at.isoformat() if found.resolved_at else None,
        "asked_at": found.asked_at.isoformat(),
        "path": f"/reports/new?alarm={ask.alarm_id}",
    }


def _refuse(reason: str) -> HTTPException:
    return HTTPException(_STATUS.get(reason, _INVALID), reason)


async def file_report(central: Central, person: Person, body: ReportIn) -> Report:
    """Shared by the API and the console's form; refusals are HTTP errors naming the reason.
    A report naming an alarm is of the alarm's site (its site when left out; another site is
    refused by ``central.reports``)."""
    sites = [s.id for s in central.sites_of(person)]
    alarm = central.alarm(body.alarm_id) if body.alarm_id is not None else None
    of_alarm = None
    if body.alarm_id is not None:
        of_alarm = central.reports.alarm_site(person, body.alarm_id, alarm)
    site = body.site or of_alarm or next(iter(sites), None)
    if site is None or site not in sites:
        raise _refuse("not_your_site")
    draft = Draft(
        site=site,
        kinds=tuple(dict.fromkeys(body.kinds)),
        place=body.place,
        occurred_at=body.occurred_at,
        injuries=body.injuries,
        police=body.police,
        follow_up_needed=body.follow_up_needed,
        text=body.text,
        room=body.room,
        alarm_id=body.alarm_id,
    )
    found = await central.reports.file(person, draft, body.report_id or uuid4(), alarm)
    if isinstance(found, str):
        raise _refuse(found)
    return found


@router.post("", dependencies=[needs(Action.FILE_REPORT)], status_code=status.HTTP_201_CREATED)
async def file(body: ReportIn, central: CentralDep, person: PersonDep) -> dict[str, Any]:
    """File a report; the site's leader and safety representative are told (desk, e-mail)."""
    return report_json(await file_report(central, person, body), full=True)


@router.get("", dependencies=[needs(Action.FILE_REPORT)])
async def listed(central: CentralDep, person: PersonDep) -> dict[str, Any]:
    """``mine``: the reports I filed; ``asked``: the reports I am asked to file; ``site``: the
    reports of my sites, for those who read them (else empty). Summaries: no free text."""
    mine = await central.reports.mine(person)
    site: list[Report] = []
    if allowed(person, Action.READ_REPORTS):
        site = await central.reports.of_sites(person)
    return {
        "mine": [report_json(r, full=False) for r in mine],
        "asked": [ask_json(a) for a in central.reports.asked_of(person)],
        "site": [report_json(r, full=False) for r in site],
    }


@router.get("/asked", dependencies=[needs(Action.FILE_REPORT)])
async def asked(central: CentralDep, person: PersonDep) -> dict[str, Any]:
    """The reports I have been asked to file after real alarms (the phone page shows them)."""
    return {"asked": [ask_json(a) for a in central.reports.asked_of(person)]}


@router.post("/asked/{alarm_id}/not-needed", dependencies=[needs(Action.FILE_REPORT)])
async def not_needed(alarm_id: UUID, central: CentralDep, person: PersonDep) -> dict[str, Any]:
    """No report is needed after this alarm (it was pressed by mistake): recorded."""
    if not await central.reports.not_needed(person, alarm_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "not_asked")
    return {"asked": [ask_json(a) for a in central.reports.asked_of(person)]}


@router.get("/retention-runs", dependencies=[needs(Action.READ_REPORT_LOG)])
async def retention_runs(central: CentralDep, person: PersonDep) -> dict[str, Any]:
    """The retention job's runs, newest first: site ids and counts, of my sites only."""
    found = await central.reports.retention_runs(person)
    return {"runs": [run_json(r) for r in found]}


def run_json(run: RetentionRun) -> dict[str, Any]:
    return {
        "run_id": run.run_id,
        "started_at": run.started_at.isoformat(),
        "by": run.by,
        "dry_run": run.dry_run,
        "checked": run.checked,
        "anonymised": run.anonymised,
        "sites": run.detail,
    }


@router.get("/{report_id}", dependencies=[needs(Action.FILE_REPORT)])
async def one(report_id: UUID, central: CentralDep, person: PersonDep) -> dict[str, Any]:
    """The whole report, for its filer and those who read its site's reports: logged."""
    found = await central.reports.read(person, report_id)
    if found is None:
        raise _refuse("unknown_report")
    return report_json(found, full=True)


@router.post("/{report_id}/seen", dependencies=[needs(Action.MARK_REPORT_SEEN)])
async def seen(report_id: UUID, central: CentralDep, person: PersonDep) -> dict[str, Any]:
    """The site's leader or safety representative has seen it (once each; recorded)."""
    found = await central.reports.seen(person, report_id)
    if isinstance(found, str):
        raise _refuse(found)
    return report_json(found, full=False)


@router.post("/{report_id}/follow-up", dependencies=[needs(Action.FOLLOW_UP_REPORT)])
async def follow_up(
    report_id: UUID, body: FollowUpIn, central: CentralDep, person: PersonDep
) -> dict[str, Any]:
    """The leader's follow-up (a later one replaces it; the audit trail keeps each)."""
    found = await central.reports.follow_up(person, report_id, body.text)
    if isinstance(found, str):
        raise _refuse(found)
    return report_json(found, full=True)


@router.get("/{report_id}/reads", dependencies=[needs(Action.READ_REPORT_LOG)])
async def reads(report_id: UUID, central: CentralDep, person: PersonDep) -> dict[str, Any]:
    """Who opened the report and when (the safety representative's insight)."""
    found = await central.reports.reads(person, report_id)
    if found is None:
        raise _refuse("unknown_report")
    return {
        "reads": [
            {"user": r.user, "name": r.name, "as": r.as_, "at": r.at.isoformat()} for r in found
        ]
    }


# --- export --------------------------------------------------------------------------------

CSV_COLUMNS = (
    "report_id",
    "site",
    "filed_at",
    "occurred_at",
    "kinds",
    "place",
    "room",
    "injuries",
    "police",
    "follow_up_needed",
    "from_alarm",
    "alarm_id",
    "filed_by",
    "filed_by_name",
    "text",
    "seen_by_leader_at",
    "seen_by_safety_rep_at",
    "follow_up_at",
    "follow_up_by",
    "follow_up_text",
    "anonymised_at",
)


def _day(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise HTTPException(_INVALID, "dates are YYYY-MM-DD") from None


@dataclass(frozen=True, slots=True)
class Filters:
    """An export's query: ``site``, ``from``/``to`` (YYYY-MM-DD, on when it happened)."""

    site: str | None
    since: str | None
    until: str | None


def _filters(
    site: Annotated[str | None, Query(max_length=63)] = None,
    since: Annotated[str | None, Query(alias="from", max_length=10)] = None,
    until: Annotated[str | None, Query(alias="to", max_length=10)] = None,
) -> Filters:
    return Filters(site, since, until)


FiltersDep = Annotated[Filters, Depends(_filters)]


async def _exported(
    central: Central, person: Person, chosen: Filters
) -> tuple[list[Report], dict[str, str]]:
    """The reports to export (``from``/``to`` whole days in the site's zone), each with a line
    in its read log and the export in the audit trail."""
    site, since, until = chosen.site, chosen.since, chosen.until
    zone = central.settings.zone(site)
    first, last = _day(since), _day(until)
    start = datetime.combine(first, time.min, tzinfo=zone) if first else None
    end = datetime.combine(last + timedelta(days=1), time.min, tzinfo=zone) if last else None
    found = await central.reports.of_sites(person, site, start, end, EXPORT_LIMIT)
    filters = {"site": site or "", "from": since or "", "to": until or ""}
    now = central.clock()
    # Every exported report names its reader in its read log.
    ids = [r.report_id for r in found]
    await central.write(rows.read_logged(ids, person.user_id, person.name, "export", now))
    detail = f"{len(found)} reports; " + ", ".join(f"{k}={v}" for k, v in filters.items() if v)
    central.record(person.user_id, "reports_exported", site or "*", detail)
    return found, filters


def _first(report: Report, seat: Seat) -> str:
    marks = report.seen_by(seat)
    return marks[0].at.isoformat() if marks else ""


def _csv_row(report: Report) -> list[object]:
    follow = report.follow_up
    return [
        str(report.report_id),
        report.site,
        report.filed_at.isoformat(),
        report.occurred_at.isoformat(),
        ",".join(k.value for k in report.kinds),
        report.place.value,
        report.room,
        report.injuries.value,
        "yes" if report.police else "no",
        "yes" if report.follow_up_needed else "no",
        "yes" if report.from_alarm else "no",
        str(report.alarm_id) if report.alarm_id else "",
        report.filed_by,
        report.filed_by_name,
        report.text,
        _first(report, Seat.LEADER),
        _first(report, Seat.SAFETY_REP),
        follow.at.isoformat() if follow else "",
        follow.by_name if follow else "",
        follow.text if follow else "",
        report.anonymised_at.isoformat() if report.anonymised_at else "",
    ]


@exports.get("/api/reports.csv", dependencies=[needs(Action.READ_REPORTS)])
async def reports_csv(central: CentralDep, person: PersonDep, chosen: FiltersDep) -> Response:
    """One row per report of my sites (``site``, ``from``/``to`` YYYY-MM-DD on when it
    happened): RFC 4180, UTF-8 with a BOM (spreadsheets read æøå), no cell a formula."""
    found, _ = await _exported(central, person, chosen)
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    writer.writerows([csv_cell(cell) for cell in _csv_row(r)] for r in found)
    return Response(
        content="\ufeff" + out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="trygg-reports.csv"'},
    )


@exports.get("/api/reports.json", dependencies=[needs(Action.READ_REPORTS)])
async def reports_export_json(
    central: CentralDep, person: PersonDep, chosen: FiltersDep
) -> Response:
    """The same reports as JSON: ``{"exported_at", "filters", "reports": [...]}``, whole."""
    found, filters = await _exported(central, person, chosen)
    body = {
        "exported_at": central.clock().isoformat(),
        "filters": filters,
        "reports": [report_json(r, full=True) for r in found],
    }
    return Response(
        content=json.dumps(body, ensure_ascii=False, indent=1),
        media_type="application/json",
        headers={"Content-Disposition": 'attachment; filename="trygg-reports.json"'},
    )
