"""The phone's API (protocol.mobile; the page at ``/m`` is its one client): a credential once,
then the alarm — raised, read back, its position updated.

Why it is shaped so. The credential is a desk token under another label ("phone: …"), so a
phone is listed and revoked where desks are (the console's accounts page, ``trygg-central
token``), and every other endpoint here passes the guard like a desk's socket: a bearer token,
the ``raise_alarm`` action, deny by default. Logging a phone in is a console login in all but
its answer: the same throttle, password check and audit trail (``Auth.verified``).

The alarm is the edge's promise over HTTP: the phone makes the ``alarm_id`` and re-sends the
``PUT`` until it reads ``stored: true``. The route never waits for the disk — the core hands
the write to the store and the screens hear of the alarm at once — and answers with what is
true right then, so the first answer usually says ``stored: false``.
"""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Body, HTTPException, Request, status
from sqlite_utils import Database
from starlette.responses import Response

from central.api.deps import CentralDep, PersonDep
from central.auth.routes import needs
from central.auth.rules import Action
from central.auth.service import LoginResult
from central.core import Person
from central.service import Central
from central.store import accounts as rows
from central.store.rows import alarm_view
from central.web.deps import AuthDep
from protocol import AlarmSource
from protocol.mobile import Credential, CredentialRequest, MobileAlarm, PhoneRaise
from protocol.screen import AlarmView, Position

log = logging.getLogger(__name__)

router = APIRouter(prefix="/api/mobile", tags=["mobile"])

PHONE_LABEL = "phone: {label}"
_REFUSALS = {  # the core's reason → the answer's status
    "alarm_id_taken": status.HTTP_409_CONFLICT,
    "already_resolved": status.HTTP_409_CONFLICT,
    "no_site": status.HTTP_403_FORBIDDEN,  # the person covers no site at all (any more)
    "stale": status.HTTP_409_CONFLICT,  # raised longer ago than the book keeps alarms
    "unknown_alarm": status.HTTP_404_NOT_FOUND,
    "position_ahead": 422,  # measured in the future (a wrong clock)
}


def _sites(central: Central, person: Person) -> list[str]:
    """The configured sites ``person`` covers, in the config's order (the first: the
    phone's default)."""
    return [site.id for site in central.sites_of(person)]


def _refuse(reason: str) -> HTTPException:
    return HTTPException(_REFUSALS.get(reason, status.HTTP_409_CONFLICT), reason)


def _recorded(db: Database, alarm_id: UUID) -> AlarmView | None:
    """The alarm's stored row, if the record has it."""
    rows = list(db.query("SELECT * FROM alarms WHERE alarm_id = ?", [str(alarm_id)]))
    return alarm_view(rows[0]) if rows else None


def _answer(view: AlarmView, stored: bool, shown: bool) -> MobileAlarm:
    return MobileAlarm.model_validate(
        {
            "alarm_id": str(view.alarm_id),
            "state": view.state.value,
            "stored": stored,
            "shown": shown,
            "responders": [{"name": r.name, "at": r.at} for r in view.responders],
            "level": view.level,
            "silent": view.silent,
            "position": view.position,
        }
    )


@router.post(
    "/credential", dependencies=[needs(Action.PUBLIC)], status_code=status.HTTP_201_CREATED
)
async def credential(
    request: Request, body: CredentialRequest, central: CentralDep, auth: AuthDep
) -> Credential:
    """Log a phone in: the account's password, checked like the console's login; the answer
    is a long-lived token for this phone (kept hashed, revocable), never shown again."""
    address = request.client.host if request.client else "?"
    user_id = body.username.strip()
    found = await auth.verified(user_id, body.password, address)
    if isinstance(found, LoginResult):
        if found.wait_s or found.busy:
            wait = str(max(found.wait_s, 1))
            detail = "busy" if found.busy else "throttled"
            code = status.HTTP_503_SERVICE_UNAVAILABLE if found.busy else 429
            raise HTTPException(code, detail, headers={"Retry-After": wait})
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "wrong username or password",
            headers={"WWW-Authenticate": "Bearer"},
        )
    person = found.person()
    sites = _sites(central, person)
    if not sites:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "no_site")
    token = secrets.token_urlsafe(32)
    now = central.clock()
    days = auth.settings.phone_token_days
    label = PHONE_LABEL.format(label=body.label.strip() or "phone")
    user = found.user_id

    def keep(db: Database) -> None:
        rows.add_token(db, user, token, label, now, days)

    await central.write(keep)
    token_id = rows.token_id_of(token)
    central.record(user, "login", user, f"from {address}, a phone")
    central.record(user, "token_issued", token_id, f"{label!r} for {user}, {days:g} days")
    log.info("phone credential %s issued to %s", token_id, user)
    return Credential(
        token=token,
        user=user,
        name=found.name,
        site=sites[0],
        sites=sites,
        expires_at=now + timedelta(days=days),
    )


@router.put("/alarms/{alarm_id}", dependencies=[needs(Action.RAISE_ALARM)])
async def raise_alarm(
    alarm_id: UUID, body: PhoneRaise, central: CentralDep, person: PersonDep
) -> MobileAlarm:
    """Raise (or re-send) the phone's alarm; the alarm as it stands now.

    The phone names the site it was given at login, which may no longer be the person's (an
    admin moved them while the alarm waited): an alarm is never refused for that, it goes to
    the first site the person covers now and its timeline says so. Only a person who covers
    no site at all is refused (403 ``no_site``): there is nobody to tell."""
    sites = _sites(central, person)
    site = body.site if body.site in sites else next(iter(sites), body.site)
    note = ""
    if body.site is not None and site != body.site:
        note = f"site {body.site!r} is no longer theirs: raised at their site {site!r}"
        if central.phone_alarm(person, alarm_id) is None:
            log.warning("phone alarm %s from %s: %s", alarm_id, person.user_id, note)
    request = body.model_copy(update={"site": site})
    refused = central.raise_from_phone(person, alarm_id, request, note)
    if refused == "stale":  # raised before the book's memory: in the record, or a clock behind
        found = await central.read(lambda db: _recorded(db, alarm_id))
        if found is not None:  # the record has it: answered as stored, never opened again
            if found.source is not AlarmSource.MOBILE or found.raised_by != person.user_id:
                raise _refuse("alarm_id_taken")
            return _answer(found, True, found.shown_at is not None)
        refused = central.raise_from_phone(person, alarm_id, request, note, not_in_record=True)
    if refused == "not_your_site":  # no covered site to fall back on (a known alarm passes)
        refused = "no_site"
    if refused is not None:
        raise _refuse(refused)
    return await read_alarm(alarm_id, central, person)


@router.get("/alarms/{alarm_id}", dependencies=[needs(Action.RAISE_ALARM)])
async def read_alarm(alarm_id: UUID, central: CentralDep, person: PersonDep) -> MobileAlarm:
    """The phone's alarm as it stands (only its raiser's; polled while it is active)."""
    found = central.phone_alarm(person, alarm_id)
    if found is None:
        raise _refuse("unknown_alarm")
    return _answer(*found)


@router.post(
    "/alarms/{alarm_id}/position",
    dependencies=[needs(Action.RAISE_ALARM)],
    status_code=status.HTTP_204_NO_CONTENT,
)
async def position(
    alarm_id: UUID,
    body: Annotated[Position, Body()],
    central: CentralDep,
    person: PersonDep,
) -> Response:
    """A newer position while the alarm is active (an older one is ignored, still 204)."""
    refused = central.phone_position(person, alarm_id, body)
    if refused is not None:
        raise _refuse(refused)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
