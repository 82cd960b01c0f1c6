"""What the console's routes share: the pages renderer, the auth service, the person."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import Depends
from starlette.requests import HTTPConnection
from starlette.responses import RedirectResponse

from central.auth.service import Auth
from central.web.render import Pages


def get_pages(connection: HTTPConnection) -> Pages:
    pages: Pages = connection.app.state.pages
    return pages


def get_auth(connection: HTTPConnection) -> Auth:
    auth: Auth = connection.app.state.auth
    return auth


PagesDep = Annotated[Pages, Depends(get_pages)]
AuthDep = Annotated[Auth, Depends(get_auth)]


def back_to(path: str, **query: str) -> RedirectResponse:
    """After a form: see the page again (POST → redirect → GET), with what happened."""
    target = f"{path}?{urlencode(query)}" if query else path
    return RedirectResponse(target, status_code=303)


def safe_next(target: str | None) -> str:
    """Only a path on this site: never an open redirect to another host."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target
