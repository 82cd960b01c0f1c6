"""``GET /metrics``: central's numbers in Prometheus text format (central.metrics says which).

A scraper authenticates like a desk, with a bearer token (``trygg-central user token``) of an
account whose role may read metrics (``central.auth.rules``) and that covers every site of the
config (``*``, or each one): the numbers are of every site, so an account of some sites only is
refused (403), as an anonymous scrape is (401).
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4

from central.api.deps import CentralDep, PersonDep
from central.auth.routes import needs
from central.auth.rules import Action
from central.metrics import Metrics

router = APIRouter()


@router.get("/metrics", dependencies=[needs(Action.READ_METRICS)], include_in_schema=False)
async def metrics(request: Request, central: CentralDep, person: PersonDep) -> Response:
    if not all(person.covers(site.id) for site in central.settings.sites):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, "metrics cover every site: an account of every site"
        )
    found: Metrics = request.app.state.metrics
    # The classic text format (0.0.4), which every Prometheus reads (our names need no escaping).
    return Response(await found.scrape(), media_type=CONTENT_TYPE_PLAIN_0_0_4)
