"""HTTP routes for supervision and self-tests: devices, coverage, the test log, test rounds.

Everyone with a token reads what concerns their sites; who may start tests and rounds is said
in ``central.auth.rules``.
"""

from __future__ import annotations

import csv
import io
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, HTTPException, Query, status
from fastapi.responses import Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from central.api import models
from central.api.deps import CentralDep, PersonDep
from central.auth.routes import needs
from central.auth.rules import Action
from central.core import Person
from central.core.rounds import Button, ButtonOutcome, TestRound
from central.selftests import UnknownSchedule
from central.selftests.rounds import RoundError
from central.store import testlog
from central.web.export import csv_cell

router = APIRouter()


def _check_site(person: Person, site: str | None) -> None:
    if site is not None and not person.covers(site):
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"not your site: {site}")


# --- supervision ---------------------------------------------------------------------------


@router.get("/api/devices", dependencies=[needs(Action.READ_DEVICES)])
async def devices(central: CentralDep, person: PersonDep) -> models.Devices:
    """Every device central knows of the caller's sites: online or not, inputs, faults."""
    faults = [f for f in central.faults() if person.covers(f.site)]
    found = []
    for (site, device), inputs in sorted(central.known_devices().items()):
        if not person.covers(site):
            continue
        record = central.device(site, device)
        found.append(
            models.Device(
                site=site,
                device=device,
                state="online" if record is not None and record.online else "offline",
                since=record.since if record else None,
                last_seen=record.last_seen if record else None,
                offline_reason=record.offline_reason if record else "not heard since start",
                inputs=list(inputs),
                faults=[
                    models.DeviceFault(kind=f.kind, reason=f.reason, since=f.since)
                    for f in faults
                    if (f.site, f.device) == (site, device)
                ],
            )
        )
    site_faults = [
        models.SiteFault(site=f.site, kind=f.kind, reason=f.reason, since=f.since)
        for f in faults
        if not f.device
    ]
    return models.Devices(devices=found, site_faults=site_faults)


@router.get("/api/coverage", dependencies=[needs(Action.READ_DEVICES)])
async def coverage(central: CentralDep, person: PersonDep) -> models.Coverage:
    """Screens connected per site now, and whether an alarm raised now would reach anyone."""
    now = central.clock()
    faults = central.faults()
    sites = []
    for site in central.sites_of(person):
        hours = site.hours()
        screens = central.screens_at(site.id)
        sites.append(
            models.SiteCoverage(
                site=site.id,
                name=site.name,
                screens=screens,
                opening_hours=site.opening_hours,
                open_now=hours.open_at(now) if hours else None,
                covered=screens > 0,
                fault=any(f.site == site.id and f.kind == "no_screen" for f in faults),
            )
        )
    return models.Coverage(sites=sites)


# --- schedules and the test log ------------------------------------------------------------


@router.get("/api/schedules", dependencies=[needs(Action.READ_TESTS)])
async def schedules(central: CentralDep, _person: PersonDep) -> models.Schedules:
    now = central.clock()
    testing = central.testing
    return models.Schedules(
        zone=testing.zone,
        schedules=[
            models.Schedule(
                id=s.id,
                kind=s.kind,
                every=s.every,
                at=s.at,
                weekday=s.weekday,
                day=s.day,
                sites=list(s.sites),
                title=s.title.model_dump(),
                next=testing.next_slot(s.id, now),
            )
            for s in testing.schedule
        ],
    )


@router.post(
    "/api/schedules/{schedule_id}/run",
    status_code=status.HTTP_202_ACCEPTED,
    dependencies=[needs(Action.RUN_TESTS)],
)
async def run_schedule(
    schedule_id: str,
    central: CentralDep,
    person: PersonDep,
    site: Annotated[str | None, Query(max_length=63)] = None,
    device: Annotated[str | None, Query(max_length=63)] = None,
    deadline_s: Annotated[float | None, Query(gt=0, le=3600)] = None,
) -> models.Runs:
    """Run a schedule's test now (its slots are not touched). Results land in the test log."""
    _check_site(person, site)
    if site is None and not person.everywhere:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "name the site (?site=...)")
    try:
        runs = await central.testing.run_now(
            schedule_id, site=site, device=device, deadline_s=deadline_s, tester=person.user_id
        )
    except UnknownSchedule:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no schedule {schedule_id}") from None
    return models.Runs(runs=[str(r) for r in runs])


def _filter(
    person: PersonDep,
    site: Annotated[str | None, Query(max_length=63)] = None,
    device: Annotated[str | None, Query(max_length=63)] = None,
    kind: Annotated[str | None, Query(max_length=40)] = None,
    result: Annotated[str | None, Query(max_length=20)] = None,
    since: Annotated[AwareDatetime | None, Query(alias="from")] = None,
    until: Annotated[AwareDatetime | None, Query(alias="to")] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 500,
) -> testlog.RunFilter:
    _check_site(person, site)
    return testlog.RunFilter(
        sites=None if person.everywhere else person.sites,
        site=site,
        device=device,
        kind=kind,
        result=result,
        since=since,
        until=until,
        limit=limit,
    )


FilterDep = Annotated[testlog.RunFilter, Depends(_filter)]


@router.get("/api/tests", dependencies=[needs(Action.READ_TESTS)])
async def tests(central: CentralDep, where: FilterDep) -> models.LoggedRuns:
    """The test log, newest first: every run with its checks (filters: site, device, kind,
    result, from, to)."""
    found = await central.read(lambda db: testlog.runs(db, where))
    return models.LoggedRuns(runs=[models.LoggedRun.model_validate(run) for run in found])


@router.get("/api/tests.csv", dependencies=[needs(Action.READ_TESTS)])
async def tests_csv(central: CentralDep, where: FilterDep) -> Response:
    """One row per check, RFC 4180, UTF-8 with a BOM so that spreadsheets read æøå."""
    rows = await central.read(lambda db: testlog.check_table(db, where))
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(testlog.CSV_COLUMNS)
    writer.writerows([csv_cell(cell) for cell in row] for row in rows)  # no formulas
    return Response(
        content="\ufeff" + out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="trygg-test-log.csv"'},
    )


@router.get("/api/tests/overdue", dependencies=[needs(Action.READ_TESTS)])
async def tests_overdue(central: CentralDep, person: PersonDep) -> models.OverdueList:
    """Everything not passed within its schedule's period (never tested counts)."""
    now = central.clock()
    passed = await central.read(testlog.last_passed)
    found = central.testing.overdue(person.covers, passed, now)
    return models.OverdueList(
        overdue=[
            models.OverdueItem(
                schedule_id=o.schedule_id,
                kind=o.kind,
                site=o.site,
                device=o.device,
                input=o.input,
                due_since=o.due_since.isoformat(),
                last_passed=o.last_passed.isoformat() if o.last_passed else None,
            )
            for o in found
        ]
    )


@router.get("/api/tests/{run_id}", dependencies=[needs(Action.READ_TESTS)])
async def test_run(run_id: str, central: CentralDep, person: PersonDep) -> models.LoggedRun:
    found = await central.read(lambda db: testlog.run(db, run_id))
    run = None if found is None else models.LoggedRun.model_validate(found)
    if run is None or run.site is None or not person.covers(run.site):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no test run {run_id}")
    return run


# --- manual test rounds ----------------------------------------------------------------------


class RoundStart(BaseModel):
    model_config = ConfigDict(extra="forbid")
    site: str = Field(max_length=63)


class ButtonFailed(BaseModel):
    model_config = ConfigDict(extra="forbid")
    device: str = Field(max_length=63)
    input: str = Field(max_length=63)
    detail: str = Field(default="failed", min_length=1, max_length=300)


def _round_view(found: TestRound, outcomes: list[ButtonOutcome]) -> models.Round:
    lists: dict[str, list[models.Outcome]] = {"tested": [], "not_tested": [], "failed": []}
    for outcome in outcomes:
        lists[outcome.result.value].append(
            models.Outcome(
                device=outcome.button.device,
                input=outcome.button.input,
                at=outcome.at,
                detail=outcome.detail,
                alarm_id=outcome.alarm_id,
            )
        )
    return models.Round(
        round_id=found.round_id,
        site=found.site,
        tester=found.tester,
        started_at=found.started_at,
        closed_at=found.closed_at,
        state="open" if found.open else "closed",
        **lists,
    )


def _round(central: CentralDep, person: Person, round_id: UUID) -> TestRound:
    found = central.testing.test_round(round_id)
    if found is None or not person.covers(found.site):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no test round {round_id}")
    return found


@router.post(
    "/api/test-rounds", status_code=status.HTTP_201_CREATED, dependencies=[needs(Action.RUN_TESTS)]
)
async def start_round(body: RoundStart, central: CentralDep, person: PersonDep) -> models.Round:
    """Start a round: until it is closed, each button's first press at the site is its test,
    shown only to the caller's screens."""
    _check_site(person, body.site)
    if central.settings.site(body.site) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no site {body.site}")
    try:
        found = await central.testing.start_round(body.site, person.user_id)
    except RoundError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    central.record(person.user_id, "round_started", str(found.round_id), body.site)
    return _round_view(found, found.report())


@router.get("/api/test-rounds", dependencies=[needs(Action.READ_TESTS)])
async def rounds(
    central: CentralDep, person: PersonDep, site: Annotated[str | None, Query()] = None
) -> models.Rounds:
    _check_site(person, site)
    found = central.testing.rounds_at(lambda s: person.covers(s) and site in (None, s))
    return models.Rounds(rounds=[_round_view(r, r.report()) for r in found])


@router.get("/api/test-rounds/{round_id}", dependencies=[needs(Action.READ_TESTS)])
async def show_round(round_id: UUID, central: CentralDep, person: PersonDep) -> models.Round:
    found = _round(central, person, round_id)
    return _round_view(found, found.report())


@router.post("/api/test-rounds/{round_id}/fail", dependencies=[needs(Action.RUN_TESTS)])
async def fail_button(
    round_id: UUID, body: ButtonFailed, central: CentralDep, person: PersonDep
) -> models.Round:
    """The tester marks a button failed (its LED stayed dark, the alarm never came)."""
    found = _round(central, person, round_id)
    try:
        await central.testing.fail_button(round_id, Button(body.device, body.input), body.detail)
    except RoundError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    return _round_view(found, found.report())


@router.post("/api/test-rounds/{round_id}/close", dependencies=[needs(Action.RUN_TESTS)])
async def close_round(round_id: UUID, central: CentralDep, person: PersonDep) -> models.Round:
    """Close the round: every button tested, not tested, or failed (offline, stuck, marked)."""
    found = _round(central, person, round_id)
    try:
        outcomes = await central.testing.close_round(round_id, found.site)
    except RoundError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    central.record(person.user_id, "round_closed", str(round_id), found.site)
    return _round_view(found, outcomes)
