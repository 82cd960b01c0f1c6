"""The console's page for standby at risky meetings (STANDARD 2.2): register one, see who
confirmed, end it early or cancel it; answer a request to stand by; the site's meetings for
those who may read them. Forms post with the session's CSRF token like every console form;
the work is the API's (``central.api.meetings``) and the core's (``central.core.standby``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, HTTPException, Request
from pydantic import ValidationError
from starlette.responses import Response

from central.api.deps import CentralDep, PersonDep
from central.api.meetings import MeetingIn, register_meeting, responders_of
from central.auth.routes import needs
from central.auth.rules import Action, allowed
from central.web.deps import PagesDep, back_to
from central.web.drills import has_training

router = APIRouter(include_in_schema=False)


@router.get("/meetings", dependencies=[needs(Action.REGISTER_MEETING)])
async def page(
    request: Request,
    central: CentralDep,
    person: PersonDep,
    pages: PagesDep,
    done: str = "",
) -> Response:
    book = central.standby.book
    now = central.clock()
    sites = central.sites_of(person)
    responders = {s.id: await responders_of(central, s.id) for s in sites}
    return pages.render(
        request,
        "meetings.html",
        done=done,
        sites=sites,
        rooms={s.id: sorted(central.standby.rooms(s.id)) for s in sites},
        # Each colleague once, whichever of the person's sites they answer for.
        colleagues={
            user: name
            for names in responders.values()
            for user, name in names.items()
            if user != person.user_id
        },
        mine=book.of(person.user_id),
        asked=book.asked(person.user_id, now),
        site_meetings=book.at_sites(person.covers) if allowed(person, Action.READ_MEETINGS) else (),
        now=now,
        # 4.1: trained before holding meetings. A warning on the page, never a refusal.
        untrained=not await has_training(central, person.user_id),
    )


@router.post("/meetings", dependencies=[needs(Action.REGISTER_MEETING)])
async def register_form(
    central: CentralDep,
    person: PersonDep,
    site: Annotated[str, Form(max_length=63)],
    start: Annotated[str, Form(max_length=20)],
    end: Annotated[str, Form(max_length=20)],
    concern: Annotated[str, Form(max_length=10)],
    where: Annotated[str, Form(max_length=100)] = "",
    address: Annotated[str, Form(max_length=200)] = "",
    note: Annotated[str, Form(max_length=200)] = "",
    standby: Annotated[list[str] | None, Form()] = None,
    any_responder: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    """The form: times are the site's local time (``datetime-local``)."""
    plan = central.settings.site(site)
    if plan is None or not person.covers(site):
        return back_to("/meetings", done="not_your_site")
    zone = ZoneInfo(plan.zone)
    try:
        body = MeetingIn(
            site=site,
            room=where or None,
            address=address,
            start=datetime.fromisoformat(start).replace(tzinfo=zone),
            end=datetime.fromisoformat(end).replace(tzinfo=zone),
            concern=concern,
            note=note,
            standby=[u for u in standby or [] if u],
            any_responder=any_responder == "yes",
        )
    except (ValidationError, ValueError):
        return back_to("/meetings", done="bad_input")
    try:
        await register_meeting(central, person, body)
    except HTTPException as refused:
        return back_to("/meetings", done=str(refused.detail))
    return back_to("/meetings", done="registered")


@router.post("/meetings/{meeting_id}/end", dependencies=[needs(Action.REGISTER_MEETING)])
async def end_form(meeting_id: UUID, central: CentralDep, person: PersonDep) -> Response:
    refused = central.standby.end(person, meeting_id, central.clock())
    await central.standby.settled()
    return back_to("/meetings", done=refused or "ended")


@router.post("/meetings/{meeting_id}/cancel", dependencies=[needs(Action.REGISTER_MEETING)])
async def cancel_form(meeting_id: UUID, central: CentralDep, person: PersonDep) -> Response:
    refused = central.standby.cancel(person, meeting_id, central.clock(), "")
    await central.standby.settled()
    return back_to("/meetings", done=refused or "cancelled")


@router.post("/meetings/{meeting_id}/answer", dependencies=[needs(Action.ANSWER_STANDBY)])
async def answer_form(
    meeting_id: UUID,
    central: CentralDep,
    person: PersonDep,
    confirm: Annotated[str, Form(max_length=5)],
) -> Response:
    refused = central.standby.answer(person, meeting_id, confirm == "yes", central.clock())
    await central.standby.settled()
    return back_to("/meetings", done=refused or "answered")
