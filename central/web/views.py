"""Devices and coverage, the test log (page, PDF, chart), manual test rounds, routines."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated
from urllib.parse import urlencode
from uuid import UUID

from fastapi import APIRouter, Form, HTTPException, Request
from starlette.responses import Response

from central.api import testing as api
from central.api.deps import CentralDep, PersonDep
from central.auth.routes import needs
from central.auth.rules import Action
from central.core import Person
from central.store import testlog
from central.web import queries
from central.web.chart import on_time_chart
from central.web.deps import PagesDep, back_to
from central.web.drills import reading
from central.web.export import test_log_pdf
from central.web.render import language_of
from trygg_i18n import translations

router = APIRouter(include_in_schema=False)


@router.get("/devices", dependencies=[needs(Action.READ_DEVICES)])
async def devices(
    request: Request, central: CentralDep, person: PersonDep, pages: PagesDep
) -> Response:
    found = (await api.devices(central, person)).model_dump()
    coverage = (await api.coverage(central, person)).model_dump()
    selftests = await central.read(queries.last_selftests)
    for device in found["devices"]:
        device["selftest"] = selftests.get((device["site"], device["device"]))
    return pages.render(
        request,
        "devices.html",
        devices=found["devices"],
        site_faults=found["site_faults"],
        coverage=coverage["sites"],
    )


_DAY_NB = re.compile(r"^(?P<d>\d{1,2})\.(?P<m>\d{1,2})\.(?P<y>\d{4})$")


def _day(value: str) -> datetime | None:
    """A filter's date as a person types it: 31.12.2025 (nb) or 2025-12-31 (en, ISO)."""
    value = value.strip()
    if not value:
        return None
    nb = _DAY_NB.match(value)
    day = date(int(nb["y"]), int(nb["m"]), int(nb["d"])) if nb else date.fromisoformat(value)
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _where(person: Person, params: dict[str, str]) -> testlog.RunFilter:
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
            since=_day(params.get("from", "")),
            until=_day(params.get("to", "")),
            limit=500,
        )
    except ValueError:
        raise HTTPException(400, "dates are DD.MM.YYYY or YYYY-MM-DD") from None


def _export_query(params: dict[str, str], where: testlog.RunFilter) -> str:
    """The page's filters for the CSV/PDF links, dates as the API takes them (ISO, UTC)."""
    query = {k: v for k, v in params.items() if v and k not in ("from", "to")}
    for key, at in (("from", where.since), ("to", where.until)):
        if at is not None:
            query[key] = at.isoformat()
    return urlencode(query)


def _shown_day(value: str, language: str) -> str:
    """A filter's date again in the page's format (what the field's hint asks for)."""
    try:
        at = _day(value)
    except ValueError:
        return value
    if at is None:
        return ""
    return at.strftime("%d.%m.%Y") if language == "nb" else at.date().isoformat()


_FILTERS = ("site", "device", "kind", "result", "from", "to")


@router.get("/tests", dependencies=[needs(Action.READ_TESTS)])
async def tests(
    request: Request, central: CentralDep, person: PersonDep, pages: PagesDep, done: str = ""
) -> Response:
    params = {k: request.query_params.get(k, "")[:63] for k in _FILTERS}
    where = _where(person, params)
    runs = await central.read(lambda db: testlog.runs(db, where))
    overdue = (await api.tests_overdue(central, person)).model_dump()["overdue"]
    sites = frozenset(s.id for s in central.sites_of(person))
    chart_data = await central.read(lambda db: queries.on_time_by_month(db, sites))
    open_rounds = central.open_rounds(person)
    language = language_of(request.scope, pages.default_language)
    gettext = translations(language).gettext
    names = {s.id: s.name for s in central.settings.sites}
    shown = {**params, **{k: _shown_day(params[k], language) for k in ("from", "to")}}
    return pages.render(
        request,
        "tests.html",
        runs=runs,
        overdue=overdue,
        chosen=shown,
        export_query=_export_query(params, where),
        chart=on_time_chart(chart_data, gettext, names),
        site_names=names,
        schedule_titles={s.id: s.title.model_dump() for s in central.testing.schedule},
        sites=central.sites_of(person),
        rounds=open_rounds,
        done=done,
    )


@router.get("/api/tests.pdf", dependencies=[needs(Action.READ_TESTS)])
async def tests_pdf(request: Request, central: CentralDep, person: PersonDep) -> Response:
    """The test log for an auditor: the filtered runs, and what is overdue."""
    params = {k: request.query_params.get(k, "")[:63] for k in _FILTERS}
    where = _where(person, params)
    runs = await central.read(lambda db: testlog.runs(db, where))
    overdue = (await api.tests_overdue(central, person)).model_dump()["overdue"]
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


@router.post("/tests/rounds", dependencies=[needs(Action.RUN_TESTS)])
async def start_round(
    central: CentralDep, person: PersonDep, site: Annotated[str, Form(max_length=63)]
) -> Response:
    try:
        await api.start_round(api.RoundStart(site=site), central, person)
    except HTTPException as exc:  # said in words the page translates (central.web.wording)
        why = _ROUND_REFUSALS.get(exc.status_code, str(exc.detail))
        return back_to("/tests", done=f"round_refused:{why}"[:200])
    return back_to("/tests", done="round_started")


@router.post("/tests/rounds/{round_id}/close", dependencies=[needs(Action.RUN_TESTS)])
async def close_round(round_id: UUID, central: CentralDep, person: PersonDep) -> Response:
    found = await api.close_round(round_id, central, person)
    summary = f"{len(found.tested)}/{len(found.not_tested)}/{len(found.failed)}"
    return back_to("/tests", done=f"round_closed:{summary}")


@router.get("/routines", dependencies=[needs(Action.READ_ROUTINES)])
async def routines(
    request: Request, central: CentralDep, person: PersonDep, pages: PagesDep, done: str = ""
) -> Response:
    """Every employee reads the routines and the measures of every room (STANDARD 3.6), and
    confirms it; a changed routine asks again (central.web.drills)."""
    sites = central.sites_of(person)
    known = central.known_devices()
    version, read_at = await reading(central, person)
    return pages.render(
        request,
        "routines.html",
        sites=sites,
        response=central.routines,
        schedules=central.testing.schedule,
        site_names={s.id: s.name for s in central.settings.sites},
        devices={s.id: sorted(d for (site, d) in known if site == s.id) for s in sites},
        version=version,
        read_at=read_at,
        done=done,
    )
