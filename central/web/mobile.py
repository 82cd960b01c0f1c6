"""The phone page ``/m``: the mobile alarm's shell, its web app manifest and service worker.

Why it is shaped so: everything that matters happens in the phone (hold-to-raise, the
IndexedDB outbox, geolocation) and talks to central only through the mobile API
(``central.api.mobile``, a bearer device credential). So these routes are public and carry
no data: an HTML shell, the manifest and the worker script. The shell is rendered (not a
static file) for two reasons only: its CSRF token, which the one request without a bearer
token (``POST /api/mobile/credential``, the login) sends along (the guard lets that one JSON
route through without it too: a shell cached by the worker may hold a stale token), and its
language, chosen as the console chooses it plus ``?lang=`` and the browser's language, since
a phone has no console session. The texts live in ``static/mobile/strings.json`` (the page
needs them in its script too, so one file serves both); the script reads them from a JSON
data block, because the CSP allows no inline code.

The worker is served from ``/m/sw.js`` rather than ``/static``: its scope must cover ``/m``
itself, which a script under ``/m/`` may claim only with ``Service-Worker-Allowed``; and a
worker obeys the CSP of its own script's answer, so it gets one that lets it ``fetch``.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, Response

from central.auth.routes import needs
from central.auth.rules import Action
from central.auth.service import LANGUAGE_COOKIE
from central.web.deps import PagesDep
from central.web.render import STATIC

router = APIRouter(include_in_schema=False)

HERE = STATIC / "mobile"
LANGS = ("nb", "en")
SCOPE = "/m"
# The worker's own policy: it fetches the page's files and the API, same origin only.
WORKER_POLICY = "default-src 'self'"
YEAR_S = 365 * 24 * 3600


@cache
def strings() -> dict[str, dict[str, str]]:
    loaded: dict[str, dict[str, str]] = json.loads((HERE / "strings.json").read_text("utf-8"))
    return loaded


def language(request: Request) -> str:
    """``?lang=`` first, then the console's language cookie, then the browser's languages
    (bokmål for any Norwegian), else bokmål."""
    asked = request.query_params.get("lang", "")
    if asked in LANGS:
        return asked
    chosen = request.cookies.get(LANGUAGE_COOKIE, "")
    if chosen in LANGS:
        return chosen
    for part in request.headers.get("accept-language", "").split(","):
        tag = part.split(";")[0].strip().lower()
        primary = tag.split("-")[0]
        if primary in ("nb", "no", "nn"):
            return "nb"
        if primary == "en":
            return "en"
    return "nb"


@router.get("/m", dependencies=[needs(Action.PUBLIC)])
async def shell(request: Request, pages: PagesDep) -> Response:
    lang = language(request)
    response = pages.render(
        request,
        "phone.html",
        page_lang=lang,
        other_lang="en" if lang == "nb" else "nb",
        t=strings()[lang],
    )
    if request.query_params.get("lang") in LANGS:
        # Remembered, so the installed page (start_url /m) opens in the language chosen.
        response.set_cookie(LANGUAGE_COOKIE, lang, max_age=YEAR_S, samesite="lax")
    return response


def manifest_of(lang: str) -> dict[str, Any]:
    t = strings()[lang]
    return {
        "name": t["title"],
        "short_name": "Trygg",
        "lang": lang,
        "start_url": "/m",
        "scope": SCOPE,
        "id": "/m",
        "display": "standalone",
        "orientation": "portrait",
        "background_color": "#ffffff",
        "theme_color": "#0b3d91",
        "icons": [
            {"src": "/static/mobile/icon-192.png", "sizes": "192x192", "type": "image/png"},
            {"src": "/static/mobile/icon-512.png", "sizes": "512x512", "type": "image/png"},
            {
                "src": "/static/mobile/icon-512.png",
                "sizes": "512x512",
                "type": "image/png",
                "purpose": "maskable",
            },
            {"src": "/static/mobile/icon.svg", "sizes": "any", "type": "image/svg+xml"},
        ],
    }


@router.get("/m/manifest.webmanifest", dependencies=[needs(Action.PUBLIC)])
async def manifest(request: Request) -> Response:
    return JSONResponse(
        manifest_of(language(request)),
        media_type="application/manifest+json",
        headers={"Cache-Control": "no-cache"},
    )


@router.get("/m/sw.js", dependencies=[needs(Action.PUBLIC)])
async def worker() -> Response:
    return Response(
        (HERE / "sw.js").read_bytes(),
        media_type="text/javascript",
        headers={
            "Service-Worker-Allowed": SCOPE,
            # A new worker is picked up at once (browsers cap a worker's HTTP cache anyway).
            "Cache-Control": "no-cache",
            "Content-Security-Policy": WORKER_POLICY,
        },
    )
