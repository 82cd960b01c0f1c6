"""The FastAPI app, ``create_app(settings)``: all state lives on the app, none at module level."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from central.api.routes import router as api_router
from central.api.testing import router as testing_router
from central.config import CentralSettings
from central.push.routes import router as push_router
from central.service import Central


def create_app(settings: CentralSettings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        central = Central(settings)
        await central.start()
        app.state.central = central
        try:
            yield
        finally:
            await central.stop()

    app = FastAPI(title="Trygg central", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.include_router(api_router)
    app.include_router(testing_router)
    app.include_router(push_router)
    return app
