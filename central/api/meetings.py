"""Standby for risky meetings over HTTP (STANDARD 2.2; central.core.standby decides).

Register (every employee, for themselves), list (one's own; the site's for those who may read
them), answer (the colleague asked: the core checks it is them), end early, cancel. Each route
declares its action (central.auth.rules), deny by default; a refusal is a 4xx naming the
core's reason, and nothing changes.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID, uuid4

from fastapi import APIRouter, HTTPException, status
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from central.api.deps import CentralDep, PersonDep
from central.auth.routes import needs
from central.auth.rules import Action, allowed
from central.core import Person, Role
from central.core.standby import MAX_ADDRESS, MAX_NOTE, Concern, Meeting, MeetingRequest
from central.service import Central
from central.store import accounts as rows
from central.web.drills import has_training

router = APIRouter(prefix="/api/meetings", tags=["meetings"])

#: Who may stand by: those who answer alarms.
STANDBY_ROLES = frozenset({Role.RESPONDER, Role.LEADER})
_STATUS = {"unknown_meeting": status.HTTP_404_NOT_FOUND, "not_asked": status.HTTP_403_FORBIDDEN}
_INVALID = 422
#: The warning to an employee with no training recorded (4.1); the meeting is registered.
NO_TRAINING = "no_training"


class MeetingIn(BaseModel):
    """A meeting to register. ``room`` None: outside the office, at ``address``."""

    model_config = ConfigDict(extra="forbid")

    meeting_id: UUID | None = None
    site: str | None = None
    room: str | None = Field(default=None, max_length=100)
    address: str = Field(default="", max_length=MAX_ADDRESS)
    start: AwareDatetime
    end: AwareDatetime
    concern: Concern
    note: str = Field(default="", max_length=MAX_NOTE)
    standby: list[Annotated[str, Field(max_length=64)]] = Field(default=[], max_length=20)
    any_responder: bool = False


class AnswerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    confirm: bool


class CancelIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(default="", max_length=MAX_NOTE)


def meeting_json(meeting: Meeting) -> dict[str, Any]:
    return {
        "meeting_id": str(meeting.meeting_id),
        "owner": meeting.owner,
        "owner_name": meeting.owner_name,
        "site": meeting.site,
        "room": meeting.room,
        "outside": meeting.room is None,
        "address": meeting.address,
        "start": meeting.start.isoformat(),
        "end": meeting.end.isoformat(),
        "concern": meeting.concern.value,
        "note": meeting.note,
        "any_responder": meeting.any_responder,
        "standby": [
            {
                "user": c.user,
                "name": c.name,
                "answer": c.answer.value,
                "at": c.at.isoformat() if c.at else None,
            }
            for c in meeting.colleagues
        ],
        "confirmed": [c.name for c in meeting.confirmed],
        "registered_at": meeting.registered_at.isoformat(),
        "ended_at": meeting.ended_at.isoformat() if meeting.ended_at else None,
        "cancelled_at": meeting.cancelled_at.isoformat() if meeting.cancelled_at else None,
        "cancel_reason": meeting.cancel_reason,
    }


async def responders_of(central: Central, site: str) -> dict[str, str]:
    """Who may stand by at ``site`` (user → name): the responders and leaders of the site or
    of one of its neighbouring sites (routines: ``neighbours``), by config and by account."""
    found = await central.read(rows.accounts)
    plan = central.settings.site(site)
    sites = {site, *(plan.neighbours if plan else ())}
    people: dict[str, Person] = {p.user_id: p for p in central.settings.people()}
    people.update({a.user_id: a.person() for a in found if not a.disabled})
    for account in found:
        if account.disabled:
            people.pop(account.user_id, None)
    return {
        p.user_id: p.name
        for p in sorted(people.values(), key=lambda p: p.name)
        if p.roles & STANDBY_ROLES and any(p.covers(s) for s in sites)
    }


def _refuse(reason: str) -> HTTPException:
    return HTTPException(_STATUS.get(reason, _INVALID), reason)


async def register_meeting(central: Central, person: Person, body: MeetingIn) -> Meeting:
    """Shared by the API and the console's form."""
    sites = [s.id for s in central.sites_of(person)]
    site = body.site or next(iter(sites), None)
    if site is None or site not in sites:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "not_your_site")
    request = MeetingRequest(
        site=site,
        start=body.start,
        end=body.end,
        concern=body.concern,
        room=body.room or None,
        address=body.address,
        note=body.note,
        standby=tuple(body.standby),
        any_responder=body.any_responder,
    )
    responders = await responders_of(central, site)
    found = central.standby.register(
        person, body.meeting_id or uuid4(), request, responders, central.clock()
    )
    if isinstance(found, str):
        raise _refuse(found)
    await central.standby.settled()  # answered once the record of the assessment is on disk
    return found


@router.post("", dependencies=[needs(Action.REGISTER_MEETING)], status_code=status.HTTP_201_CREATED)
async def register(body: MeetingIn, central: CentralDep, person: PersonDep) -> dict[str, Any]:
    """Register a meeting with standby; the colleagues' desks are asked at once. ``warnings``
    says ``no_training`` to an employee with no drill or training recorded (STANDARD 4.1:
    trained before they hold meetings): a warning, never a refusal."""
    found = meeting_json(await register_meeting(central, person, body))
    trained = await has_training(central, person.user_id)
    return {**found, "warnings": [] if trained else [NO_TRAINING]}


@router.get("", dependencies=[needs(Action.REGISTER_MEETING)])
async def listed(central: CentralDep, person: PersonDep) -> dict[str, Any]:
    """``mine``: the meetings I registered; ``asked``: those asking me to stand by; ``site``:
    those of my sites, for those who may read them (else empty)."""
    book = central.standby.book
    now = central.clock()
    site = book.at_sites(person.covers) if allowed(person, Action.READ_MEETINGS) else ()
    return {
        "mine": [meeting_json(m) for m in book.of(person.user_id)],
        "asked": [meeting_json(m) for m in book.asked(person.user_id, now)],
        "site": [meeting_json(m) for m in site],
    }


@router.get("/site", dependencies=[needs(Action.READ_MEETINGS)])
async def of_sites(central: CentralDep, person: PersonDep) -> dict[str, Any]:
    """The meetings of my sites (the record of the pre-meeting assessments)."""
    return {"meetings": [meeting_json(m) for m in central.standby.book.at_sites(person.covers)]}


@router.post("/{meeting_id}/answer", dependencies=[needs(Action.ANSWER_STANDBY)])
async def answer(
    meeting_id: UUID, body: AnswerIn, central: CentralDep, person: PersonDep
) -> dict[str, Any]:
    refused = central.standby.answer(person, meeting_id, body.confirm, central.clock())
    return await _after(central, meeting_id, refused)


@router.post("/{meeting_id}/end", dependencies=[needs(Action.REGISTER_MEETING)])
async def end(meeting_id: UUID, central: CentralDep, person: PersonDep) -> dict[str, Any]:
    refused = central.standby.end(person, meeting_id, central.clock())
    return await _after(central, meeting_id, refused)


@router.post("/{meeting_id}/cancel", dependencies=[needs(Action.REGISTER_MEETING)])
async def cancel(
    meeting_id: UUID, central: CentralDep, person: PersonDep, body: CancelIn | None = None
) -> dict[str, Any]:
    """Cancel ("I decided not to hold this meeting" unless a reason is given): recorded."""
    reason = body.reason if body else ""
    refused = central.standby.cancel(person, meeting_id, central.clock(), reason)
    return await _after(central, meeting_id, refused)


async def _after(central: Central, meeting_id: UUID, refused: str | None) -> dict[str, Any]:
    if refused is not None:
        raise _refuse(refused)
    await central.standby.settled()
    meeting = central.standby.book.get(meeting_id)
    if meeting is None:  # pragma: no cover - the core refused an unknown one above
        raise _refuse("unknown_meeting")
    return meeting_json(meeting)
