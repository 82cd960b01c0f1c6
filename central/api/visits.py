"""The phone's visit timer API (protocol.visits; central.core.visits decides, central.visiting
carries out): start a visit, post positions, check out, read it back; and the Web Push key
and subscription the timer's question to a locked phone needs.

Why it is shaped so. Every route passes the same guard as the phone's alarm (a bearer token,
``raise_alarm``, deny by default), and answers only about the caller's own visits: another
user's ``visit_id`` is unknown (404) to them, never shown, never changed. The page subscribes
to push when the visit starts (that is when it asks for the permission), so the subscription
has its own route; it belongs to the phone credential that handed it over (revoked with it),
and an endpoint central will not post to (not ``https``, not a public address:
central.push_endpoints) is refused with the reason.
"""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from fastapi import APIRouter, HTTPException, Request, status
from starlette.responses import Response

from central.api.deps import CentralDep, PersonDep
from central.auth.guard import bearer
from central.auth.routes import needs
from central.auth.rules import Action
from central.core.visits import Visit
from central.store import accounts as rows
from protocol.screen import Position
from protocol.visits import PushKey, PushSubscription, VisitStart, VisitStatus

router = APIRouter(prefix="/api/mobile", tags=["mobile"])

_REFUSALS = {  # the core's reason → the answer's status
    "until_past": 422,
    "too_long": 422,
    "position_ahead": 422,
    "visit_id_taken": status.HTTP_409_CONFLICT,
    "visit_ended": status.HTTP_409_CONFLICT,
    "not_your_site": status.HTTP_403_FORBIDDEN,
    "unknown_visit": status.HTTP_404_NOT_FOUND,
}


def _refuse(reason: str) -> HTTPException:
    return HTTPException(_REFUSALS.get(reason, status.HTTP_409_CONFLICT), reason)


def _status(visit: Visit) -> VisitStatus:
    return VisitStatus(
        visit_id=str(visit.visit_id),
        state=visit.state.value,
        until=visit.until,
        grace_min=visit.grace.total_seconds() / 60,
        address=visit.address,
        colleague=visit.colleague,
        site=visit.site,
        asked_at=visit.asked_at,
        alarm_id=str(visit.alarm_id) if visit.alarm_id is not None else None,
        position=visit.position,
    )


@router.get("/push-key", dependencies=[needs(Action.RAISE_ALARM)])
async def push_key(central: CentralDep) -> PushKey:
    """The VAPID public key the page subscribes with (made on central's first start); 503
    while Web Push is off (the key could not be read: central's log says why)."""
    key = central.visiting.push_key
    if key is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "web_push_off")
    return PushKey(public_key=key)


@router.put(
    "/push-subscription",
    dependencies=[needs(Action.RAISE_ALARM)],
    status_code=status.HTTP_204_NO_CONTENT,
)
async def push_subscription(
    body: PushSubscription, central: CentralDep, person: PersonDep, request: Request
) -> Response:
    """This phone's push subscription (replaces this credential's previous one)."""
    token = bearer(request.scope)
    owners = await central.read(lambda db: rows.token_owners(db, rows.token_id_of(token or "")))
    if token is None or person.user_id not in owners:  # a config file's token: not a phone
        raise HTTPException(422, "a push subscription needs a phone credential")
    subscription = body.model_dump(mode="json")
    refused = await central.visiting.subscribe(rows.digest(token), person.user_id, subscription)
    if refused is not None:
        raise HTTPException(422, refused)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/visits", dependencies=[needs(Action.RAISE_ALARM)], status_code=status.HTTP_201_CREATED
)
async def start_visit(body: VisitStart, central: CentralDep, person: PersonDep) -> VisitStatus:
    """ "I'm at a home visit until ...": watched by central from now on (a resend: the same)."""
    sites = [site.id for site in central.sites_of(person)]
    site = body.site or next(iter(sites), None)
    if site is None or site not in sites:
        raise _refuse("not_your_site")
    visit = Visit(
        visit_id=body.visit_id,
        user=person.user_id,
        name=person.name,
        site=site,
        address=body.address.strip(),
        until=body.until,
        grace=timedelta(minutes=body.grace_min),
        started_at=central.clock(),
        colleague=body.colleague.strip() if body.colleague else None,
    )
    refused = await central.visiting.begin(visit)
    if refused is not None:
        raise _refuse(refused)
    return await read_visit(body.visit_id, central, person)


@router.get("/visits/{visit_id}", dependencies=[needs(Action.RAISE_ALARM)])
async def read_visit(visit_id: UUID, central: CentralDep, person: PersonDep) -> VisitStatus:
    """The caller's visit as it stands (another user's: 404)."""
    visit = central.visiting.book.get(person.user_id, visit_id)
    if visit is None:
        raise _refuse("unknown_visit")
    return _status(visit)


@router.post("/visits/{visit_id}/checkout", dependencies=[needs(Action.RAISE_ALARM)])
async def checkout(visit_id: UUID, central: CentralDep, person: PersonDep) -> VisitStatus:
    """The employee is fine: the visit ends, nothing more is asked or raised."""
    refused = await central.visiting.checkout(person.user_id, visit_id)
    if refused is not None:
        raise _refuse(refused)
    return await read_visit(visit_id, central, person)


@router.post(
    "/visits/{visit_id}/position",
    dependencies=[needs(Action.RAISE_ALARM)],
    status_code=status.HTTP_204_NO_CONTENT,
)
async def position(
    visit_id: UUID, body: Position, central: CentralDep, person: PersonDep
) -> Response:
    """Where the phone is during the visit (the timer's alarm carries the last one)."""
    refused = central.visiting.position(person.user_id, visit_id, body)
    if refused is not None:
        raise _refuse(refused)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
