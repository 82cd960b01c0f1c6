"""Evacuate, lock down, all clear: the console's control, its confirm step, and the API.

The board shows, per site, a button for each announcement; it opens a confirm page (``GET
/board/announce``: what will happen, the zone to choose) so that nobody evacuates a building
with a slipped click, and only that page's form does it (``POST /board/announce``). Scripts
and integrations use ``POST /api/announcements`` (JSON) and read the state and history with
``GET /api/announcements``. Who may: ``Action.ANNOUNCE`` (``central.auth.rules``); the site
must be one of the person's; the core (``central.core.announcements``) refuses the rest.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request, status
from pydantic import BaseModel, ConfigDict
from starlette.responses import Response

from central.api.deps import CentralDep, PersonDep
from central.auth.routes import needs
from central.auth.rules import Action
from central.core import Person
from central.core.announcements import Announcement, Origin
from central.service import Central
from central.web.deps import PagesDep, back_to
from protocol import AnnouncementKind
from protocol.topics import SiteId

router = APIRouter()

_STATUS = {"forbidden": 403, "not_your_site": 404, "unknown_site": 404}


class AnnounceBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    site: SiteId
    kind: AnnouncementKind
    zone: SiteId | None = None


class AnnouncementOut(BaseModel):
    announcement_id: str
    site: str
    kind: AnnouncementKind
    zone: str | None
    by: str
    by_name: str
    origin: str
    at: datetime

    @classmethod
    def of(cls, entry: Announcement) -> AnnouncementOut:
        return cls(
            announcement_id=str(entry.announcement_id),
            site=entry.site,
            kind=entry.kind,
            zone=entry.zone,
            by=entry.by,
            by_name=entry.by_name,
            origin=entry.origin.value,
            at=entry.at,
        )


class AnnouncementsOut(BaseModel):
    active: list[AnnouncementOut]
    history: list[AnnouncementOut]


class AnnounceAnswer(BaseModel):
    site: str
    active: AnnouncementOut | None


def _do(
    central: Central,
    person: Person,
    site: str,
    kind: AnnouncementKind,
    zone: str | None,
    origin: Origin,
) -> tuple[Announcement | None, str | None]:
    # The person's sites first, and one answer for a site that is not there and one that is
    # not theirs: nobody learns from it which site ids exist (as the confirm page).
    if not person.covers(site) or central.settings.site(site) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no such site: {site}")
    return central.announcing.from_person(person, site, kind, zone or None, origin)


@router.post("/api/announcements", dependencies=[needs(Action.ANNOUNCE)])
async def announce(body: AnnounceBody, central: CentralDep, person: PersonDep) -> AnnounceAnswer:
    """Evacuate or lock down ``site`` (or one ``zone`` of it), or end it (``all_clear``)."""
    now, refused = _do(central, person, body.site, body.kind, body.zone, Origin.CONSOLE)
    if refused is not None:
        raise HTTPException(_STATUS.get(refused, status.HTTP_409_CONFLICT), refused)
    return AnnounceAnswer(site=body.site, active=AnnouncementOut.of(now) if now else None)


@router.get("/api/announcements", dependencies=[needs(Action.READ_ALARMS)])
async def announcements(central: CentralDep, person: PersonDep) -> AnnouncementsOut:
    """What is announced now at the caller's sites, and the history (newest first)."""
    return AnnouncementsOut(
        active=[AnnouncementOut.of(a) for a in central.announcing.active(person)],
        history=[AnnouncementOut.of(a) for a in central.announcing.history(person, 200)],
    )


@router.get("/board/announce", dependencies=[needs(Action.ANNOUNCE)], include_in_schema=False)
async def confirm_page(
    request: Request,
    central: CentralDep,
    person: PersonDep,
    pages: PagesDep,
    site: SiteId,
    kind: AnnouncementKind,
) -> Response:
    """The confirm step: what will happen where, and (for a site with zones) which zone."""
    found = central.settings.site(site)
    if found is None or not person.covers(site):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no such site: {site}")
    return pages.render(
        request,
        "announce.html",
        site=found,
        kind=kind.value,
        current=central.announcing.book.current(site),
    )


@router.post("/board/announce", dependencies=[needs(Action.ANNOUNCE)], include_in_schema=False)
async def announce_form(
    central: CentralDep,
    person: PersonDep,
    site: Annotated[str, Form(max_length=63)],
    kind: Annotated[AnnouncementKind, Form()],
    confirm: Annotated[str, Form(max_length=10)],
    zone: Annotated[str, Form(max_length=63)] = "",
) -> Response:
    if confirm != "yes":
        return back_to("/board", done="unconfirmed")
    _, refused = _do(central, person, site, kind, zone or None, Origin.CONSOLE)
    return back_to("/board", done="announce_refused" if refused else f"announced_{kind.value}")
