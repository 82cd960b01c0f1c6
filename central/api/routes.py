"""HTTP routes: health for supervision, and the alarm record for people who may read it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, status

from central.api.deps import CentralDep, MaybePersonDep, PersonDep
from central.auth.rules import Action, allowed

router = APIRouter()


@router.get("/healthz")
async def healthz(central: CentralDep, person: MaybePersonDep) -> dict[str, Any]:
    """Up, and whether the broker link is: for anyone (load balancers, systemd, monitoring).
    How many screens watch, what was rejected and the faults tell an outsider when nobody is
    looking: only for someone who may read the devices' state (central.auth.rules)."""
    public = {
        "status": "ok",
        "mqtt": "connected" if central.link.connected else "disconnected",
    }
    if not allowed(person, Action.READ_DEVICES):
        return public
    return {
        **public,
        "screens": len(central.hub),
        "fanout": central.hub.fanout,  # "direct", or "queued" when the fast path fell back
        "rejected": dict(central.rejected),
        "faults": len(central.watch.supervisor.faults()),
        "open_tests": central.testing.runner.open_runs,
    }


@router.get("/api/alarms")
async def alarms(
    central: CentralDep,
    person: PersonDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    site: Annotated[str | None, Query(max_length=63)] = None,
    include_tests: bool = False,
) -> dict[str, Any]:
    """Newest first, with each alarm's timeline; only the caller's sites. Test alarms are left
    out unless ``include_tests=true``: they are never part of the alarm record's figures."""
    sites: frozenset[str] | None = None if person.everywhere else person.sites
    if site is not None:
        if not person.covers(site):
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"not your site: {site}")
        sites = frozenset({site})
    return {"alarms": await central.store.recent(limit, sites, include_tests)}
