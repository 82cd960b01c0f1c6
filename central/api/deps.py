"""Dependencies shared by the HTTP routes and the websocket route.

Who is asking, and whether their role allows the route at all, is decided before any route
runs, by ``central.auth.guard`` with the rules of ``central.auth.rules``; routes only read the
person it found and check the sites that person covers.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, status
from starlette.requests import HTTPConnection

from central.core import Person
from central.service import Central


def get_central(connection: HTTPConnection) -> Central:
    central: Central = connection.app.state.central
    return central


CentralDep = Annotated[Central, Depends(get_central)]


def person_or_none(connection: HTTPConnection) -> Person | None:
    person: Person | None = connection.scope.get("state", {}).get("person")
    return person


def require_person(person: Annotated[Person | None, Depends(person_or_none)]) -> Person:
    if person is None:  # only on a route whose rule is public
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "a valid bearer token is required",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return person


PersonDep = Annotated[Person, Depends(require_person)]
MaybePersonDep = Annotated[Person | None, Depends(person_or_none)]
