"""The evidence page (STANDARD 2.2–4.1): one site, one period, requirement by requirement, what
the records say, as a page (``/evidence``), as JSON (``/api/evidence``) and as a PDF the leader
hands to the safety committee (``/api/evidence.pdf``).

Why shaped so: the figures are computed once, by the pure core (``central.core.evidence``),
from rows the store reads as they are (``central.store.evidence``); this module only gathers
what is a *state now* beside them (who has read the current routines, who is trained, what is
overdue: from the same functions the training register, the readers list and the test log
use, so each figure agrees with the page it links to). The one :class:`Evidence` is put into
words once (``central.web.evidence_words``); the page and the PDF (``central.web.evidence_pdf``)
both draw those words, so the PDF says what the page says; the JSON is the value itself, for
the employer's own systems.

Who may read it: ``Action.READ_EVIDENCE`` (the leader, the safety representative, the admin;
central.auth.rules says why), for the sites they cover. A period the person types wrong is
refused with the reason on the page, and nothing is computed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields, is_dataclass
from datetime import date, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Query, Request, status
from starlette.responses import JSONResponse, Response

from central.api.deps import CentralDep, PersonDep
from central.auth.routes import needs
from central.auth.rules import Action
from central.core import Person
from central.core.evidence import (
    Evidence,
    OverdueRow,
    Period,
    PersonRow,
    Preset,
    Share,
    evidence,
    period_of,
)
from central.service import Central
from central.store import evidence as stored
from central.store import testlog
from central.web.deps import PagesDep
from central.web.drills import participations, read_statuses
from central.web.evidence_pdf import evidence_pdf
from central.web.evidence_words import requirements
from central.web.render import language_of
from trygg_i18n import translations

router = APIRouter(include_in_schema=False)

_DAY_NB = re.compile(r"^(?P<d>\d{1,2})\.(?P<m>\d{1,2})\.(?P<y>\d{4})$")


def _day(value: str) -> date | None:
    """A day as a date field sends it (2025-12-31), or as a person types it (31.12.2025)."""
    value = value.strip()
    if not value:
        return None
    nb = _DAY_NB.match(value)
    if nb:
        return date(int(nb["y"]), int(nb["m"]), int(nb["d"]))
    return date.fromisoformat(value)


@dataclass(frozen=True, slots=True)
class Chosen:
    """What the person asked for: a site, a preset, and the custom days as typed."""

    site: str
    preset: str
    first: str
    last: str


def _chosen(
    central: Central, person: Person, site: str, preset: str, first: str, last: str
) -> Chosen:
    sites = central.sites_of(person)
    if not site:
        if not sites:
            raise HTTPException(status.HTTP_403_FORBIDDEN, "no site of yours")
        site = sites[0].id
    if central.settings.site(site) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no such site: {site}")
    if not person.covers(site):
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"not your site: {site}")
    # Days typed without a preset chosen: the days are the period.
    default = Preset.CUSTOM if first or last else Preset.LAST_12_MONTHS
    return Chosen(site, preset or default.value, first, last)


def _period(central: Central, chosen: Chosen) -> Period | str:
    """The period, or why not (a reason the page says in words)."""
    try:
        first, last = _day(chosen.first), _day(chosen.last)
    except ValueError:
        return "bad_day"
    zone = central.settings.zone(chosen.site)
    today = central.clock().astimezone(zone).date()
    return period_of(chosen.preset, today, zone, first, last)


async def collect(central: Central, site: str, period: Period) -> Evidence:
    """The evidence of ``site`` for ``period``, made now."""
    now = central.clock()
    rows = await central.read(lambda db: stored.site_rows(db, site, period))

    def here(s: str) -> bool:
        return s == site

    passed = await central.read(testlog.last_passed)
    overdue = [OverdueRow(o.kind, o.device) for o in central.testing.overdue(here, passed, now)]
    trained: dict[str, date] = {}
    for took_part in await participations(central, None):  # trained anywhere counts (4.1)
        if took_part.user not in trained or took_part.on < trained[took_part.user]:
            trained[took_part.user] = took_part.on
    people = [
        PersonRow(s.user, s.current, trained.get(s.user))
        for s in await read_statuses(central, here)
    ]
    plan = central.drilling.plans.get(site)
    return evidence(
        site,
        period,
        now,
        alarms=rows.alarms,
        meetings=rows.meetings,
        reports=rows.reports,
        runs=rows.runs,
        overdue=overdue,
        people=people,
        drills=rows.drills,
        per_year=plan.per_year if plan else None,
    )


# --- the value as JSON -------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, Share):
        return {"done": value.done, "of": value.of, "percent": value.percent}
    if isinstance(value, Period):
        return {
            "start": value.start.isoformat(),
            "end": value.end.isoformat(),
            "first_day": value.first_day.isoformat(),
            "last_day": value.last_day.isoformat(),
        }
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


def as_json(found: Evidence) -> dict[str, Any]:
    plain: dict[str, Any] = _plain(found)
    return plain


# --- routes ------------------------------------------------------------------------------------

_Site = Annotated[str, Query(max_length=63)]
_Preset = Annotated[str, Query(max_length=12)]
_From = Annotated[str, Query(alias="from", max_length=10)]
_To = Annotated[str, Query(alias="to", max_length=10)]


@router.get("/evidence", dependencies=[needs(Action.READ_EVIDENCE)])
async def page(
    request: Request,
    central: CentralDep,
    person: PersonDep,
    pages: PagesDep,
    site: _Site = "",
    period: _Preset = "",
    since: _From = "",
    until: _To = "",
) -> Response:
    chosen = _chosen(central, person, site, period, since, until)
    found_period = _period(central, chosen)
    language = language_of(request.scope, pages.default_language)
    gettext = translations(language).gettext
    context: dict[str, Any] = {
        "sites": central.sites_of(person),
        "chosen": chosen,
        "presets": [p.value for p in Preset],
        "site_name": central.site_names.get(chosen.site, chosen.site),
    }
    if isinstance(found_period, str):
        return pages.render(
            request, "evidence.html", 400, problem=found_period, found=None, **context
        )
    found = await collect(central, chosen.site, found_period)
    query = urlencode({"site": chosen.site, "period": chosen.preset, "from": since, "to": until})
    return pages.render(
        request,
        "evidence.html",
        problem="",
        found=found,
        requirements=requirements(found, gettext, language, context["site_name"]),
        export_query=query,
        **context,
    )


async def _asked(
    central: Central,
    person: Person,
    site: str,
    period: str,
    since: str,
    until: str,
) -> Evidence:
    chosen = _chosen(central, person, site, period, since, until)
    found_period = _period(central, chosen)
    if isinstance(found_period, str):
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"bad period: {found_period}")
    return await collect(central, chosen.site, found_period)


@router.get("/api/evidence", dependencies=[needs(Action.READ_EVIDENCE)])
async def evidence_json(
    central: CentralDep,
    person: PersonDep,
    site: _Site = "",
    period: _Preset = "",
    since: _From = "",
    until: _To = "",
) -> JSONResponse:
    """The evidence as JSON: ``period`` last12 (default), this_year, last_year, or custom with
    ``from`` and ``to`` (days, both included)."""
    found = await _asked(central, person, site, period, since, until)
    return JSONResponse(as_json(found))


@router.get("/api/evidence.pdf", dependencies=[needs(Action.READ_EVIDENCE)])
async def evidence_as_pdf(
    request: Request,
    central: CentralDep,
    person: PersonDep,
    pages: PagesDep,
    site: _Site = "",
    period: _Preset = "",
    since: _From = "",
    until: _To = "",
) -> Response:
    """The same figures as a PDF for the safety committee, in the reader's language."""
    found = await _asked(central, person, site, period, since, until)
    language = language_of(request.scope, pages.default_language)
    gettext = translations(language).gettext
    name = central.site_names.get(found.site, found.site)
    pdf = evidence_pdf(found, requirements(found, gettext, language, name), name, gettext)
    day = found.period.first_day.isoformat()
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="trygg-evidence-{found.site}-{day}.pdf"'
        },
    )
