"""HTTP routes: health for supervision, and the alarm record for people who may read it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status

from central.api.deps import CentralDep, MaybePersonDep, PersonDep
from central.api.models import Alarms, Health
from central.auth.routes import needs
from central.auth.rules import Action, allowed

router = APIRouter()


@router.get("/healthz", dependencies=[needs(Action.PUBLIC)], response_model_exclude_none=True)
async def healthz(central: CentralDep, person: MaybePersonDep) -> Health:
    """Up, and whether the broker link is: for anyone (load balancers, systemd, monitoring).
    How many screens watch, what was rejected and the faults tell an outsider when nobody is
    looking: only for someone who may read the devices' state (central.auth.rules)."""
    status = central.status()
    public = Health(mqtt="connected" if status.link_up else "disconnected")
    if not allowed(person, Action.READ_DEVICES):
        return public
    return public.model_copy(
        update={
            "screens": status.screens,
            "fanout": status.fanout,
            "rejected": status.rejected,
            "faults": status.faults,
            "open_tests": status.open_tests,
        }
    )


@router.get("/api/alarms", dependencies=[needs(Action.READ_ALARMS)])
async def alarms(
    central: CentralDep,
    person: PersonDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    site: Annotated[str | None, Query(max_length=63)] = None,
    include_tests: bool = False,
) -> Alarms:
    """Newest first, with each alarm's timeline; only the caller's sites. Test alarms are left
    out unless ``include_tests=true``: they are never part of the alarm record's figures."""
    sites: frozenset[str] | None = None if person.everywhere else person.sites
    if site is not None:
        if not person.covers(site):
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"not your site: {site}")
        sites = frozenset({site})
    return Alarms.model_validate({"alarms": await central.recent(limit, sites, include_tests)})
