"""Server-rendered pages: one Jinja2 environment (autoescaped), the language, the CSRF token.

Every text goes through ``_`` (the shared catalogue, ``trygg_i18n``); every value a user or a
device chose (room and device names) is escaped by Jinja, so markup in a name shows as text.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.types import ASGIApp, Scope

from central.auth.rules import may
from central.auth.service import LANGUAGE_COOKIE, PRE_COOKIE, Auth
from central.core import Person
from central.web import details, wording
from central.web.hardening import PAGE_POLICY
from trygg_i18n import LANGUAGES, translations

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
OSLO = ZoneInfo("Europe/Oslo")


def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html", "svg", "xml"], default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["may"] = may
    env.filters["when"] = _when
    env.filters.update(wording.FILTERS)
    env.globals.update(wording.GLOBALS)
    env.filters.update(details.FILTERS)
    env.globals.update(details.GLOBALS)
    return env


def _when(value: object, fmt: str = "%d.%m.%Y %H:%M") -> str:
    """An ISO time or datetime, shown in Norwegian time (central stores UTC)."""
    if value in (None, ""):
        return "–"
    at = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if at.tzinfo is None:
        return at.strftime(fmt)
    return at.astimezone(OSLO).strftime(fmt)


def language_of(scope: Scope, default: str) -> str:
    request = Request(scope)
    chosen = request.cookies.get(LANGUAGE_COOKIE, "")
    return chosen if chosen in LANGUAGES else default


class Pages:
    def __init__(self, auth: Auth, default_language: str) -> None:
        self.env = environment()
        self.auth = auth
        self.default_language = default_language
        self.policy = PAGE_POLICY  # with a map's tile server: central.web.hardening.page_policy

    def render(
        self, request: Request, template: str, status_code: int = 200, **context: Any
    ) -> HTMLResponse:
        language = language_of(request.scope, self.default_language)
        gettext = translations(language).gettext
        person: Person | None = request.scope.get("state", {}).get("person")
        session_id: str | None = request.scope.get("state", {}).get("session_id")
        pre = request.cookies.get(PRE_COOKIE)
        new_pre = None
        if session_id is None and not pre:
            pre = new_pre = secrets.token_urlsafe(24)
        binding = session_id or pre or ""
        html = self.env.get_template(template).render(
            _=gettext,
            lang=language,
            languages=LANGUAGES,
            person=person,
            csrf=self.auth.csrf_token(binding),
            path=request.url.path,
            query=request.url.query,
            **context,
        )
        response = HTMLResponse(html, status_code=status_code)
        response.headers["Cache-Control"] = "no-store"
        # The other security headers (and HSTS) are set on every answer: central.web.hardening.
        response.headers["Content-Security-Policy"] = self.policy
        if new_pre is not None:
            response.set_cookie(
                PRE_COOKIE,
                new_pre,
                httponly=True,
                samesite="strict",
                secure=self.auth.settings.secure_cookies,
            )
        return response

    def error_page(self, scope: Scope, status_code: int, message: str) -> ASGIApp:
        """The guard's and the app's error answer for pages: in the layout, with a reason."""
        request = Request(scope)
        return self.render(request, "error.html", status_code, status=status_code, message=message)
