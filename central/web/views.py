"""Devices and coverage, the test log (page, PDF, chart), manual test rounds, routines."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Form, HTTPException, Request
from starlette.responses import Response

from central.api import testing as api
from central.api.deps import CentralDep, PersonDep
from central.core import Person
from central.store import testlog
from central.web import queries
from central.web.chart import on_time_chart
from central.web.deps import PagesDep, back_to
from central.web.export import test_log_pdf
from trygg_i18n import translations

router = APIRouter(include_in_schema=False)


@router.get("/devices")
async def devices(
    request: Request, central: CentralDep, person: PersonDep, pages: PagesDep
) -> Response:
    found = await api.devices(central, person)
    coverage = await api.coverage(central, person)
    selftests = await central.store.read(queries.last_selftests)
    for device in found["devices"]:
        device["selftest"] = selftests.get((device["site"], device["device"]))
    return pages.render(
        request,
        "devices.html",
        devices=found["devices"],
        site_faults=found["site_faults"],
        coverage=coverage["sites"],
    )


def _where(person: Person, params: dict[str, str]) -> testlog.RunFilter:
    from datetime import datetime

    def day(value: str) -> datetime | None:
        return datetime.fromisoformat(value + "T00:00:00+00:00") if value else None

    site = params.get("site") or None
    if site is not None and not person.covers(site):
        raise HTTPException(403, f"not your site: {site}")
    try:
        return testlog.RunFilter(
            sites=None if person.everywhere else person.sites,
            site=site,
            device=params.get("device") or None,
            kind=params.get("kind") or None,
            result=params.get("result") or None,
            since=day(params.get("from", "")),
            until=day(params.get("to", "")),
            limit=500,
        )
    except ValueError:
        raise HTTPException(400, "dates are YYYY-MM-DD") from None


_FILTERS = ("site", "device", "kind", "result", "from", "to")


@router.get("/tests")
async def tests(
    request: Request, central: CentralDep, person: PersonDep, pages: PagesDep, done: str = ""
) -> Response:
    params = {k: request.query_params.get(k, "")[:63] for k in _FILTERS}
    where = _where(person, params)
    runs = await central.store.read(lambda db: testlog.runs(db, where))
    overdue = (await api.tests_overdue(central, person))["overdue"]
    sites = frozenset(s.id for s in central.settings.sites if person.covers(s.id))
    chart_data = await central.store.read(lambda db: queries.on_time_by_month(db, sites))
    query = "&".join(f"{k}={v}" for k, v in params.items() if v)
    open_rounds = [r for r in central.testing.rounds.all() if r.open and person.covers(r.site)]
    language = request.cookies.get("trygg_lang", pages.default_language)
    gettext = translations(language if language in ("nb", "en") else "nb").gettext
    return pages.render(
        request,
        "tests.html",
        runs=runs,
        overdue=overdue,
        chosen=params,
        export_query=query,
        chart=on_time_chart(chart_data, gettext),
        sites=[s for s in central.settings.sites if person.covers(s.id)],
        rounds=open_rounds,
        done=done,
    )


@router.get("/api/tests.pdf")
async def tests_pdf(request: Request, central: CentralDep, person: PersonDep) -> Response:
    """The test log for an auditor: the filtered runs, and what is overdue."""
    params = {k: request.query_params.get(k, "")[:63] for k in _FILTERS}
    where = _where(person, params)
    runs = await central.store.read(lambda db: testlog.runs(db, where))
    overdue = (await api.tests_overdue(central, person))["overdue"]
    pdf = test_log_pdf(runs, overdue, params, central.clock())
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": 'attachment; filename="trygg-test-log.pdf"'},
    )


_ROUND_REFUSALS = {
    403: "not your site",
    404: "no site",
    409: "a test round is already open at that site",
}


@router.post("/tests/rounds")
async def start_round(
    central: CentralDep, person: PersonDep, site: Annotated[str, Form(max_length=63)]
) -> Response:
    try:
        await api.start_round(api.RoundStart(site=site), central, person)
    except HTTPException as exc:  # said in words the page translates (central.web.wording)
        why = _ROUND_REFUSALS.get(exc.status_code, str(exc.detail))
        return back_to("/tests", done=f"round_refused:{why}"[:200])
    return back_to("/tests", done="round_started")


@router.post("/tests/rounds/{round_id}/close")
async def close_round(round_id: UUID, central: CentralDep, person: PersonDep) -> Response:
    found: dict[str, Any] = await api.close_round(round_id, central, person)
    summary = f"{len(found['tested'])}/{len(found['not_tested'])}/{len(found['failed'])}"
    return back_to("/tests", done=f"round_closed:{summary}")


@router.get("/routines")
async def routines(
    request: Request, central: CentralDep, person: PersonDep, pages: PagesDep
) -> Response:
    """Every employee reads the routines and the measures of every room (STANDARD 3.6)."""
    sites = [s for s in central.settings.sites if person.covers(s.id)]
    known = central.testing.known
    return pages.render(
        request,
        "routines.html",
        sites=sites,
        response=central.routines,
        schedules=central.testing.self_tests.schedule,
        devices={s.id: sorted(d for (site, d) in known if site == s.id) for s in sites},
    )
