"""The FastAPI app, ``create_app(settings)``: all state lives on the app, none at module level."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response

from central.api.meetings import router as meetings_api_router
from central.api.metrics import router as metrics_router
from central.api.mobile import router as mobile_api_router
from central.api.pairing import router as pairing_api_router
from central.api.reports import exports as reports_export_router
from central.api.reports import router as reports_api_router
from central.api.routes import router as api_router
from central.api.screens import router as screens_router
from central.api.testing import router as testing_router
from central.api.visits import router as visits_api_router
from central.auth.guard import Guard
from central.auth.pairing import Pairings
from central.auth.routes import PublicMount, needs
from central.auth.rules import Action
from central.auth.service import Auth
from central.auth.sso import SignOn
from central.config import CentralSettings
from central.metrics import Metrics
from central.service import Central
from central.web.announce import router as announce_router
from central.web.board import router as board_router
from central.web.connect import router as connect_router
from central.web.drills import router as drills_router
from central.web.evidence import router as evidence_router
from central.web.hardening import Hardening, page_policy, tile_source
from central.web.meetings import router as meetings_router
from central.web.mobile import router as mobile_router
from central.web.pages import router as pages_router
from central.web.render import STATIC, Pages
from central.web.reports import router as reports_router
from central.web.sso import router as sso_router
from central.web.views import router as views_router


def create_app(settings: CentralSettings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        central = Central(settings, metrics=app.state.metrics)
        await central.start()
        auth = Auth(settings.web, central.directory, central.store, central.clock, central.trail)
        await auth.start()
        pages = Pages(auth, settings.web.language)
        # A phone alarm's map (templates/mobile.html): its tile server's images are allowed.
        pages.policy = page_policy(tile_source(settings.map.tile_url))
        pages.env.globals["map_tiles"] = settings.map
        # Timelines and the board name the escalation routine's groups in the reader's language.
        pages.env.globals["escalation_groups"] = central.escalator.routine.group_names()
        # The layout's banner: the incident reports the signed-in person is asked to file.
        pages.env.globals["asked_reports"] = central.reports.asked_of
        app.state.central = central
        app.state.auth = auth
        app.state.pages = pages
        app.state.error_page = pages.error_page
        # Desks pair with the console (RFC 8628, central.auth.pairing); single sign-on through
        # the organisation's provider when [sso] is set (central.auth.sso, docs/sso.md).
        app.state.pairings = Pairings(settings.web, central.store, central.clock, central.trail)
        config_users = frozenset(u.id for u in settings.users)
        app.state.sso = (
            None
            if settings.sso is None
            else SignOn(
                settings.sso,
                auth,
                central.store,
                central.clock,
                central.trail,
                config_users,
                registry=app.state.metrics.registry,  # its refusals in /metrics
            )
        )
        pages.env.globals["sso"] = settings.sso is not None
        if app.state.sso is not None:
            app.state.sso.start_sweeping()  # the idle sweep: [sso] max_idle_days
        try:
            yield
        finally:
            if app.state.sso is not None:
                await app.state.sso.stop()
            await auth.stop()
            await central.stop()

    app = FastAPI(
        title="Trygg central", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None
    )
    app.state.metrics = Metrics()  # this app's own registry (central.metrics), none global

    # FastAPI's own /openapi.json declares no action; this one does (public, as before).
    @app.get("/openapi.json", include_in_schema=False, dependencies=[needs(Action.PUBLIC)])
    async def openapi() -> JSONResponse:
        return JSONResponse(app.openapi())

    app.include_router(api_router)
    app.include_router(testing_router)
    app.include_router(screens_router)
    app.include_router(mobile_api_router)  # the phone's alarm (protocol.mobile)
    app.include_router(visits_api_router)  # the visit timer (protocol.visits)
    app.include_router(meetings_api_router)  # standby for risky meetings (2.2)
    app.include_router(reports_export_router)  # incident reports as CSV / JSON (2.4)
    app.include_router(reports_api_router)  # incident reports (2.4, central.api.reports)
    app.include_router(pairing_api_router)  # a desk pairs with the console (protocol.pairing)
    app.include_router(metrics_router)  # /metrics for Prometheus (central.metrics)
    app.include_router(pages_router)
    app.include_router(sso_router)  # /sso/login and /sso/callback (docs/sso.md)
    app.include_router(connect_router)  # /connect: approve a desk's pairing
    app.include_router(board_router)
    app.include_router(announce_router)  # evacuate / lock down / all clear
    app.include_router(views_router)
    app.include_router(mobile_router)  # the phone page /m (its API: central.api.mobile)
    app.include_router(meetings_router)  # the console's page for standby at meetings
    app.include_router(reports_router)  # the console's incident-report pages (2.4)
    app.include_router(drills_router)  # drills, training, routines read (4.1, 4.2, 1.1)
    app.include_router(evidence_router)  # the evidence for the yearly review, page and PDF
    app.router.routes.append(PublicMount("/static", StaticFiles(directory=STATIC), name="static"))
    # Every request passes the guard first: who is asking, and may they (central.auth.rules).
    app.add_middleware(Guard)
    # Outermost: security headers on every answer (the guard's too), HSTS and __Host- cookies.
    app.add_middleware(
        Hardening,
        secure=settings.web.secure_cookies,
        hsts_max_age_s=settings.http.hsts_max_age_s,
    )

    @app.exception_handler(StarletteHTTPException)
    async def _errors(request: Request, exc: StarletteHTTPException) -> Response:
        """Pages get their errors in the layout; the API keeps its JSON answers."""
        path = request.url.path
        if path.startswith("/api/") or path in ("/healthz", "/openapi.json", "/metrics"):
            return await http_exception_handler(request, exc)
        pages: Pages = request.app.state.pages
        return pages.render(
            request, "error.html", exc.status_code, status=exc.status_code, message=str(exc.detail)
        )

    return app
